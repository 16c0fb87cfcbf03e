"""The redirect service: ``GET /{code}`` records the click and answers 302 to the target.

``HEAD`` answers the same redirect without recording anything: messengers and mail
scanners fetch a link's headers to build a preview, and that is not the customer. A
malformed, unknown or expired code, and any other path, gets the same small 404 page;
an unexpected failure a plain 500 page. Neither ever shows a trace, and the log names
only the exception's type: a database error's text can carry the values it was given.
``/feedback`` is the thank-you page a feedback link leads to by default, ``/i/{ref}``
the campaign images rendered messages link to on this host (``LinkSettings.image_base``).

Store work is blocking, so it runs in Starlette's thread pool with a session of its
own per request. Codes are looked up in a read-only session first, so a bot trying
random codes never queues for SQLite's write lock; the click itself is written as
urgent work, ahead of a bulk job's splits (``store.engine.urgent``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ums_pipelines.channels.content import ContentError, ContentStore
from ums_pipelines.settings import Settings
from ums_pipelines.shortlinks.codes import is_code
from ums_pipelines.shortlinks.store import record_click, resolve
from ums_pipelines.store.content import ShortLink
from ums_pipelines.store.engine import Store, urgent, utcnow

__all__ = ["create_app"]

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

# Pages and redirects are per customer: nothing is cached or indexed, and the code in
# the address is not passed on to the target as a Referer.
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}
_PAGE_HEADERS = {
    **_HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}

_PAGE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,"Apple SD Gothic Neo","Malgun Gothic",sans-serif;
margin:0;padding:3rem 1.25rem;text-align:center;color:#1f2933;background:#f5f7fa}}
main{{max-width:28rem;margin:0 auto;background:#fff;border-radius:12px;padding:2rem 1.5rem;
box-shadow:0 1px 4px rgba(0,0,0,.08)}}h1{{font-size:1.25rem;margin:0 0 1rem}}
p{{line-height:1.6;margin:.5rem 0}}.en{{color:#52606d;font-size:.95rem}}</style>
</head><body><main id="{page_id}">
<h1>{heading_ko}<br><span class="en">{heading_en}</span></h1>
<p>{text_ko}</p><p class="en">{text_en}</p>
</main></body></html>
"""

NOT_FOUND_PAGE = _PAGE.format(
    title="페이지를 찾을 수 없습니다 · Page not found",
    page_id="not-found",
    heading_ko="페이지를 찾을 수 없습니다",
    heading_en="Page not found",
    text_ko="링크가 잘못되었거나 유효 기간이 지났습니다.",
    text_en="This link is not valid or has expired.",
)
ERROR_PAGE = _PAGE.format(
    title="일시적인 오류 · Temporary error",
    page_id="error",
    heading_ko="일시적인 오류가 발생했습니다",
    heading_en="Something went wrong",
    text_ko="잠시 후 다시 시도해 주세요.",
    text_en="Please try again in a moment.",
)
NOT_ALLOWED_PAGE = _PAGE.format(
    title="허용되지 않은 요청 · Request not allowed",
    page_id="not-allowed",
    heading_ko="허용되지 않은 요청입니다",
    heading_en="Request not allowed",
    text_ko="링크를 눌러 다시 열어 주세요.",
    text_en="Please open the link again by tapping it.",
)
FEEDBACK_PAGE = _PAGE.format(
    title="소중한 의견 감사합니다 · Thank you",
    page_id="feedback",
    heading_ko="소중한 의견 감사합니다",
    heading_en="Thank you for your feedback",
    text_ko="UMS은행을 이용해 주셔서 감사합니다. 보내주신 응답은 더 나은 서비스를 위해 쓰입니다.",
    text_en="Thank you for banking with UMS Bank. Your response helps us serve you better.",
)


def _page(body: str, status: int) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=_PAGE_HEADERS)


def not_found() -> HTMLResponse:
    return _page(NOT_FOUND_PAGE, 404)


def server_error() -> HTMLResponse:
    return _page(ERROR_PAGE, 500)


def _guarded(name: str, handler: Handler) -> Handler:
    """The handler, with any exception turned into the 500 page and a one-line log."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as exc:
            log.error("short-link %s failed: %s", name, type(exc).__name__)
            return server_error()

    return run


class _Redirects:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def follow(self, request: Request) -> Response:
        code = request.path_params["code"]
        if not is_code(code):
            return not_found()
        agent = request.headers.get("user-agent")
        record = request.method != "HEAD"
        target = await run_in_threadpool(self._follow, code, agent, record)
        if target is None:
            return not_found()
        return RedirectResponse(target, status_code=302, headers=_HEADERS)

    def _follow(self, code: str, agent: str | None, record: bool) -> str | None:
        now = self.clock()
        with self.store.reading() as session:
            link = resolve(session, code, now)
            target = None if link is None else link.target_url
        if target is not None and record:
            try:
                with urgent(), self.store.session() as session:
                    record_click(session, code, agent, now)
            except Exception as exc:
                # The customer still gets where the bank sent them: a lost click costs
                # one response row, an error page costs the customer's trust.
                log.error("short-link click not recorded: %s", type(exc).__name__)
        return target

    async def health(self, request: Request) -> Response:
        await run_in_threadpool(self._ping)
        return JSONResponse({"status": "ok"}, headers=_HEADERS)

    def _ping(self) -> None:
        # The table every redirect reads: a store that is up but not migrated is not healthy.
        with self.store.reading() as session:
            session.execute(select(ShortLink.code).limit(1))


# Content-addressed campaign images only: attachments share the content store and may
# be a customer's own documents, so nothing but these extensions is ever served.
_IMAGE_REF = re.compile(r"[0-9a-f]{64}\.(jpg|png|gif|bmp)")
_IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "bmp": "image/bmp"}


class _Images:
    """``/i/{ref}``: the images a rendered message links to (``LinkSettings.image_base``)."""

    def __init__(self, content_dir: Path) -> None:
        self.content = ContentStore(content_dir)

    async def get(self, request: Request) -> Response:
        ref = request.path_params["ref"]
        match = _IMAGE_REF.fullmatch(ref)
        if match is None:
            return not_found()
        data = await run_in_threadpool(self._read, ref)
        if data is None:
            return not_found()
        # Named by the hash of its bytes: the same address never changes content.
        headers = {"Cache-Control": "public, max-age=31536000, immutable"}
        headers["X-Content-Type-Options"] = "nosniff"
        return Response(data, media_type=_IMAGE_TYPES[match.group(1)], headers=headers)

    def _read(self, ref: str) -> bytes | None:
        try:
            return self.content.get(ref)
        except ContentError:
            return None


async def _feedback(request: Request) -> Response:
    return _page(FEEDBACK_PAGE, 200)


async def _http_error(request: Request, exc: Exception) -> Response:
    # Unmatched paths (404) and wrong methods (405) alike: the small page, no details.
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return not_found()
    if status >= 500:
        return server_error()
    return _page(NOT_ALLOWED_PAGE, status)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("short-link service failed: %s", type(exc).__name__)
    return server_error()


def create_app(
    store: Store,
    clock: Callable[[], datetime] = utcnow,
    content_dir: Path | None = None,
    settings: Settings | None = None,
) -> Starlette:
    """The redirect service over ``store``; ``clock`` (aware UTC) decides expiry. With
    ``content_dir`` (``Settings.content_dir``) it also serves the messages' images, with
    ``settings`` the opt-out endpoints (``/u/{token}``, ``/app/push-settings``)."""
    redirects = _Redirects(store, clock)
    routes: list[BaseRoute] = []
    if settings is not None:
        from ums_pipelines.shortlinks.unsubscribe import optout_routes

        routes += optout_routes(store, settings, clock)
        from ums_pipelines.shortlinks.open_server import open_routes

        routes += open_routes(store, settings, clock)
    if content_dir is not None:
        images = _Images(content_dir)
        routes.append(Route("/i/{ref}", _guarded("image", images.get), methods=["GET", "HEAD"]))
    routes += [
        Route("/healthz", _guarded("health", redirects.health), methods=["GET"]),
        Route("/feedback", _guarded("feedback", _feedback), methods=["GET"]),
        Route("/{code}", _guarded("redirect", redirects.follow), methods=["GET", "HEAD"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
    )
