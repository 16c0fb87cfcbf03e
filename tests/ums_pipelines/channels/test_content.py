from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image as PilImage

from ums_pipelines.channels.content import ContentError, ContentStore


def image_bytes(fmt: str, size: tuple[int, int] = (120, 80)) -> bytes:
    out = io.BytesIO()
    PilImage.new("RGB", size, (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "content_type", "ext"),
    [("JPEG", "image/jpeg", ".jpg"), ("PNG", "image/png", ".png"), ("GIF", "image/gif", ".gif")],
)
def test_image_is_stored_under_its_hash_with_type_and_pixels(
    tmp_path: Path, fmt: str, content_type: str, ext: str
) -> None:
    store = ContentStore(tmp_path)
    data = image_bytes(fmt, (640, 480))
    image = store.put_image(data, link="https://bank.example/e")
    assert image.ref == hashlib.sha256(data).hexdigest() + ext
    assert (image.content_type, image.width, image.height) == (content_type, 640, 480)
    assert image.size_bytes == len(data) and image.link == "https://bank.example/e"
    assert store.get(image.ref) == data
    # The same bytes again are the same file.
    assert store.put_image(data).ref == image.ref
    assert len(list(tmp_path.rglob("*" + ext))) == 1


def test_attachment_keeps_its_name_and_guesses_its_type(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    att = store.put_attachment(b"%PDF-1.4 statement", "../../거래내역서.PDF")
    assert att.filename == "거래내역서.PDF"
    assert att.content_type == "application/pdf"
    assert att.ref.endswith(".pdf") and att.size_bytes == 18
    assert store.get(att.ref) == b"%PDF-1.4 statement"


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"not an image", "image: not a readable"), (image_bytes("TIFF"), "image: format TIFF")],
)
def test_bad_images_are_refused_by_field(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        ContentStore(tmp_path).put_image(data)


def test_get_refuses_bad_refs_missing_and_tampered_files(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    with pytest.raises(ContentError, match=r"ref: '\.\./etc/passwd'"):
        store.get("../etc/passwd")
    with pytest.raises(ContentError, match="no stored content"):
        store.get("0" * 64 + ".png")
    att = store.put_attachment(b"abc", "a.txt")
    (tmp_path / att.ref[:2] / att.ref).write_bytes(b"abd")
    with pytest.raises(ContentError, match="does not match its hash"):
        store.get(att.ref)
