"""Files uploaded before a send (MMS images, Kakao images, RCS media), by id.

Korean relays, Kakao and RCS Biz Center all take an image once, by multipart upload, and
a send then names it (a file id, an image URL): a 1,000,000-message MMS job uploads its
image once, not a million times. The id is the sha256 of the bytes, so uploading the same
image again is the same file. The registry lives beside the ledger it serves, in memory:
a file id outlives a rebuilt app, not a restarted simulator (clients re-upload then).
"""

from __future__ import annotations

import hashlib
import io
import threading
import weakref
from dataclasses import dataclass

from PIL import Image as PilImage
from PIL import UnidentifiedImageError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from ums_pipelines.gateway_sim.ledger import Ledger

__all__ = ["Upload", "Uploads", "read_upload", "uploads_for"]

_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "BMP": "image/bmp"}


@dataclass(frozen=True, slots=True)
class Upload:
    file_id: str
    provider: str
    content_type: str  # from the bytes, never from the declared name or header
    size_bytes: int
    width: int
    height: int


class Uploads:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Per provider: the same image uploaded to the relay and to RCS is two files.
        self._files: dict[tuple[str, str], Upload] = {}

    def add(self, upload: Upload) -> Upload:
        with self._lock:
            return self._files.setdefault((upload.provider, upload.file_id), upload)

    def get(self, provider: str, file_id: str) -> Upload | None:
        with self._lock:
            return self._files.get((provider, file_id))


_BY_LEDGER: weakref.WeakKeyDictionary[Ledger, Uploads] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def uploads_for(ledger: Ledger) -> Uploads:
    with _GUARD:
        found = _BY_LEDGER.get(ledger)
        if found is None:
            found = _BY_LEDGER[ledger] = Uploads()
        return found


async def read_upload(request: Request, field: str, provider: str, max_bytes: int) -> Upload | str:
    """The image in multipart ``field``, identified from its bytes, or why it is refused."""
    async with request.form(max_files=1, max_part_size=max_bytes + 1) as form:
        part = form.get(field)
        if not isinstance(part, UploadFile):
            return f"{field}: a multipart file field {field!r} is required"
        data = await part.read()
    if len(data) > max_bytes:
        return f"{field}: {len(data)} bytes, limit {max_bytes}"
    try:
        with PilImage.open(io.BytesIO(data)) as img:
            kind, (width, height) = img.format, img.size
    except (UnidentifiedImageError, OSError):
        return f"{field}: not a readable image"
    content_type = _FORMATS.get(kind or "")
    if content_type is None:
        return f"{field}: image format {kind} is not supported"
    digest = hashlib.sha256(data).hexdigest()
    return Upload(
        f"{provider[:1].upper()}{digest[:31]}", provider, content_type, len(data), width, height
    )
