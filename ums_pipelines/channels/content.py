"""Content-addressed files for images and attachments, under ``UMS_HOME/content``.

A file is named by the sha256 of its bytes plus an extension, so the same image put
twice is stored once and an outbox row carries only the name (``ref``). Adapters read
the bytes back when they build the wire message (MMS, RCS, e-mail, DM).
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import re
from pathlib import Path

from PIL import Image as PilImage
from PIL import UnidentifiedImageError

from ums_pipelines.channels.payload import Attachment, Image

__all__ = ["ContentError", "ContentStore"]

_REF = re.compile(r"^[0-9a-f]{64}(\.[a-z0-9]{1,8})?$")
# Pillow's format name -> the MIME type a channel declares for it.
_IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "BMP": "image/bmp"}
_IMAGE_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/bmp": ".bmp"}


class ContentError(ValueError):
    """A file that cannot be stored or found; the message names the field."""


class ContentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, ref: str) -> Path:
        if not _REF.match(ref):
            raise ContentError(f"ref: {ref!r} is not a content reference (sha256 + extension)")
        return self.root / ref[:2] / ref

    def _write(self, data: bytes, ext: str) -> str:
        ref = hashlib.sha256(data).hexdigest() + ext
        path = self._path(ref)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed: a reader never sees half a file under its hash.
            tmp = path.with_name(f".{ref}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return ref

    def put_image(self, data: bytes, link: str | None = None) -> Image:
        """Store an image; its type and pixels come from the bytes, not from a name."""
        try:
            with PilImage.open(io.BytesIO(data)) as img:
                kind, (width, height) = img.format, img.size
        except (UnidentifiedImageError, OSError) as exc:
            raise ContentError("image: not a readable image file") from exc
        content_type = _IMAGE_TYPES.get(kind or "")
        if content_type is None:
            raise ContentError(f"image: format {kind} is not one of JPEG, PNG, GIF, BMP")
        ref = self._write(data, _IMAGE_EXT[content_type])
        return Image(
            ref=ref,
            content_type=content_type,
            size_bytes=len(data),
            width=width,
            height=height,
            link=link,
        )

    def put_attachment(
        self, data: bytes, filename: str, content_type: str | None = None
    ) -> Attachment:
        """Store an attachment under its bytes' hash; the file name travels in the ref's
        record only (two customers' statements with one name are two files)."""
        name = Path(filename).name
        if not name or name in {".", ".."}:
            raise ContentError("filename: must name a file")
        guessed = mimetypes.guess_type(name)[0]
        kind = content_type or guessed or "application/octet-stream"
        ext = Path(name).suffix.lower()
        ext = ext if re.fullmatch(r"\.[a-z0-9]{1,8}", ext) else ""
        ref = self._write(data, ext)
        return Attachment(ref=ref, filename=name, content_type=kind, size_bytes=len(data))

    def get(self, ref: str) -> bytes:
        path = self._path(ref)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ContentError(f"ref: no stored content {ref}") from None
        if hashlib.sha256(data).hexdigest() != ref.split(".")[0]:
            raise ContentError(f"ref: stored content {ref} does not match its hash")
        return data
