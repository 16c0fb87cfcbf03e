"""Real image files for the channel checks: made with Pillow at exact pixels and bytes."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image as PilImage

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.payload import Image

MakeImage = Callable[..., Image]


def image_bytes(width: int, height: int, fmt: str = "JPEG", size: int | None = None) -> bytes:
    """An image of ``width`` x ``height`` px; with ``size``, padded after its end marker
    to exactly that many bytes (decoders stop at the marker, the relay counts the file)."""
    out = io.BytesIO()
    PilImage.new("RGB", (width, height), (20, 90, 160)).save(out, format=fmt)
    data = out.getvalue()
    if size is not None:
        assert len(data) <= size, f"a {width}x{height} {fmt} is already {len(data)} bytes"
        data += b"\0" * (size - len(data))
    return data


@pytest.fixture
def content(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "content")


@pytest.fixture
def make_image(content: ContentStore) -> MakeImage:
    """Store a real image and return its payload part, measured from the bytes."""

    def make(
        width: int = 64, height: int = 64, fmt: str = "JPEG", size: int | None = None
    ) -> Image:
        return content.put_image(image_bytes(width, height, fmt, size))

    return make
