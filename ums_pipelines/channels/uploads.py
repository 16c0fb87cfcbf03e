"""Upload an image once per provider, then name it in every send.

The MMS relay, Kakao and RCS Biz Center each take an image by multipart upload and
answer with their handle for it (a file id, an image URL). The handle is kept per
content ref, so a job sending one image to a million people uploads it once per process;
concurrent first uses share one upload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from ums_pipelines.channels.content import ContentError, ContentStore
from ums_pipelines.channels.payload import Image

__all__ = ["UploadFailed", "Uploader"]


class UploadFailed(Exception):
    """The provider refused the image (``code``), or it could not be asked (``retry``)."""

    def __init__(self, code: str, reason: str, retry: bool) -> None:
        super().__init__(reason)
        self.code, self.reason, self.retry = code, reason, retry


class Uploader:
    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        headers: dict[str, str],
        field: str,
        handle: Callable[[dict[str, Any]], str | None],
        content: ContentStore,
        error_code: Callable[[dict[str, Any]], str | None],
    ) -> None:
        self.client, self.url, self.headers, self.field = client, url, headers, field
        self.handle, self.content, self.error_code = handle, content, error_code
        self._done: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def handle_for(self, image: Image) -> str:
        """The provider's handle of this image, uploading it the first time."""
        found = self._done.get(image.ref)
        if found is not None:
            return found
        lock = self._locks.setdefault(image.ref, asyncio.Lock())
        async with lock:
            found = self._done.get(image.ref)
            if found is None:
                found = self._done[image.ref] = await self._upload(image)
        return found

    async def _upload(self, image: Image) -> str:
        try:
            data = self.content.get(image.ref)
        except ContentError as exc:
            raise UploadFailed("E-CONTENT", str(exc), retry=False) from None
        files = {self.field: (image.ref, data, image.content_type)}
        try:
            response = await self.client.post(self.url, files=files, headers=self.headers)
        except httpx.HTTPError as exc:
            raise UploadFailed("E-TRANSPORT", type(exc).__name__, retry=True) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise UploadFailed(f"HTTP-{response.status_code}", "provider busy", retry=True)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200:
            code = self.error_code(body) or f"HTTP-{response.status_code}"
            raise UploadFailed(code, response.text[:200], retry=False)
        handle = self.handle(body)
        if not handle:
            raise UploadFailed("E-NORESULT", "upload answer without a handle", retry=True)
        return handle
