"""The live screen board: one page for a wall screen, its JSON, and Prometheus /metrics.

Routes (all but /health need a board token, see ``board.auth``):

- ``GET /`` the page; it fetches ``/api/snapshot`` every ``UMS_MONITORING_BOARD_REFRESH_S``
  seconds and redraws itself (no reload), showing when it was last updated;
- ``GET /api/snapshot`` the snapshot as JSON (``monitoring.take_snapshot``);
- ``GET /metrics`` the same snapshot in the Prometheus text format;
- ``GET /static/board.js|board.css`` the page's script and style (no CDN: no internet);
- ``GET /health`` liveness, no data.

The nav bar links the calendar view (``/calendar``): its routes are passed in as
``extra_routes`` by whoever builds them (ums_pipelines/calendar), and the link shows only
then. Snapshots are cached for ``cache_s`` so several screens and a scraper cost the
store one snapshot per interval.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from importlib.resources import files
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ums_pipelines.board.auth import Verdict, check_request
from ums_pipelines.monitoring.metrics import CONTENT_TYPE_LATEST, exposition, registry
from ums_pipelines.monitoring.model import Snapshot
from ums_pipelines.monitoring.snapshot import take_snapshot
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store

__all__ = ["CALENDAR_PATH", "create_app"]

log = logging.getLogger(__name__)
CALENDAR_PATH = "/calendar"
Handler = Callable[[Request], Awaitable[Response]]

_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self';"
    " connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="UMS board", charset="UTF-8"'}
_STATIC = {"board.js": "text/javascript", "board.css": "text/css"}


def _asset(name: str) -> str:
    return files("ums_pipelines.board").joinpath("static").joinpath(name).read_text("utf-8")


class _Snapshots:
    """One snapshot at a time, reused for ``ttl`` seconds."""

    def __init__(self, store: Store, settings: Settings, ttl: float) -> None:
        self.store, self.settings, self.ttl = store, settings, ttl
        self._lock = threading.Lock()
        self._last: tuple[float, Snapshot] | None = None

    def get(self) -> Snapshot:
        with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last[0] < self.ttl:
                return self._last[1]
            snap = take_snapshot(self.store, self.settings)
            self._last = (time.monotonic(), snap)
            return snap


def create_app(
    store: Store,
    settings: Settings,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    cache_s: float = 1.0,
    metrics_only: bool = False,
) -> Starlette:
    snapshots = _Snapshots(store, settings, cache_s)
    metrics = registry(snapshots.get)
    has_calendar = any(getattr(r, "path", None) == CALENDAR_PATH for r in extra_routes)
    page = _page(settings, has_calendar)

    def _check(request: Request) -> Verdict:
        with store.reading() as session:
            return check_request(session, request.headers.get("authorization"))

    def guarded(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                verdict = await run_in_threadpool(_check, request)
            except Exception as exc:  # the type only: a DB error's text carries values
                log.error("board access check failed: %s", type(exc).__name__)
                return PlainTextResponse("internal error", 500, headers=_HEADERS)
            if verdict.status == 401:
                return PlainTextResponse(verdict.reason, 401, headers={**_HEADERS, **_CHALLENGE})
            if verdict.status == 403:
                log.warning("board refused for %s: no role", verdict.user)
                return PlainTextResponse(verdict.reason, 403, headers=_HEADERS)
            try:
                return await handler(request)
            except Exception as exc:
                log.error("board request failed: %s", type(exc).__name__)
                return PlainTextResponse("internal error", 500, headers=_HEADERS)

        return run

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=_HEADERS)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            return PlainTextResponse("not found", 404, headers=_HEADERS)
        return Response(_asset(name), media_type=_STATIC[name], headers=_HEADERS)

    async def snapshot(request: Request) -> Response:
        snap = await run_in_threadpool(snapshots.get)
        return JSONResponse(snap.to_json(), headers=_HEADERS)

    async def scrape(request: Request) -> Response:
        body = await run_in_threadpool(exposition, metrics)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes: list[BaseRoute] = [
        Route("/metrics", guarded(scrape), methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
    if not metrics_only:
        routes += [
            Route("/", guarded(index), methods=["GET"]),
            Route("/api/snapshot", guarded(snapshot), methods=["GET"]),
            Route("/static/{name}", guarded(static), methods=["GET"]),
            *extra_routes,
        ]
    return Starlette(routes=routes)


def _page(settings: Settings, has_calendar: bool) -> str:
    values: dict[str, Any] = {
        "refresh_ms": int(settings.monitoring_board_refresh_s * 1000),
        "timezone": html.escape(settings.timezone, quote=True),
        "calendar": (
            f'<a id="nav-calendar" href="{CALENDAR_PATH}">달력 Calendar</a>' if has_calendar else ""
        ),
    }
    return _asset("board.html").format(**values)
