"""The short-link server's open endpoints (see shortlinks/opens.py): ``GET /o/{token}.gif``
answers the pixel and records the open, ``POST /o/{token}`` takes the app's report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ums_pipelines.settings import Settings
from ums_pipelines.shortlinks.opens import PIXEL_GIF, OpenError, read_open_token, record_open
from ums_pipelines.store.engine import Store, urgent

__all__ = ["open_routes"]

log = logging.getLogger(__name__)

_HEADERS = {
    "Cache-Control": "no-store, private",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}


class _OpenEndpoints:
    def __init__(self, store: Store, secret: str, clock: Callable[[], datetime]) -> None:
        self.store, self.secret, self.clock = store, secret, clock

    def _key(self, token: str) -> str | None:
        try:
            return read_open_token(self.secret, token)
        except OpenError:
            return None

    def _record(self, key: str, source: str) -> bool:
        with urgent(), self.store.session() as session:
            return record_open(session, key, source, self.clock())

    async def pixel(self, request: Request) -> Response:
        key = self._key(request.path_params["token"])
        if key is not None and request.method == "GET":
            try:
                await run_in_threadpool(self._record, key, "pixel")
            except Exception as exc:
                # The mail still shows: a lost open costs one response row.
                log.error("open not recorded: %s", type(exc).__name__)
        return Response(PIXEL_GIF, media_type="image/gif", headers=_HEADERS)

    async def app_opened(self, request: Request) -> Response:
        key = self._key(request.path_params["token"])
        if key is None:
            return Response(status_code=404, headers=_HEADERS)
        await run_in_threadpool(self._record, key, "app")
        return Response(status_code=204, headers=_HEADERS)


def open_routes(store: Store, settings: Settings, clock: Callable[[], datetime]) -> list[BaseRoute]:
    """The pixel and the app's open report; none without ``UMS_OPENS_SECRET``."""
    secret = settings.opens_secret
    if secret is None or not secret.get_secret_value():
        return []
    endpoints = _OpenEndpoints(store, secret.get_secret_value(), clock)
    return [
        Route("/o/{token}.gif", endpoints.pixel, methods=["GET", "HEAD"]),
        Route("/o/{token}", endpoints.app_opened, methods=["POST"]),
    ]
