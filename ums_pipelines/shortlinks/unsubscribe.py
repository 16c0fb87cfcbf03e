"""Opt-outs that arrive on the short-link server: the e-mail one-click unsubscribe
(``/u/{token}``, RFC 8058) and the app's push-settings webhook (``POST /app/push-settings``).

``GET /u/{token}`` shows a confirmation page with one button and records nothing: mail
scanners and link previews fetch every address in a message. ``POST /u/{token}`` (the
button, or the mail client's ``List-Unsubscribe=One-Click``) records the opt-out and
shows that it is done; a token that is not ours gets the same 404 page as an unknown code.

``POST /app/push-settings`` takes one push-off event (``customers/optout_files.push_event``)
or ``{"events": [...]}``, signed like the review hook: ``X-UMS-Timestamp`` (Unix seconds,
within ``MAX_SKEW_S`` of now) and ``X-UMS-Signature`` (``sha256=`` and the hex
HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``UMS_APP_WEBHOOK_SECRET``). Answers: 200
with the counts, 400 a body that is not events (naming the field), 401 a bad signature,
503 no secret configured.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from html import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ums_pipelines.customers.optout_feeds import FeedResult, apply_push_events
from ums_pipelines.customers.optout_files import BadRow, PushEvent, push_event
from ums_pipelines.customers.unsubscribe import (
    UnsubscribeError,
    UnsubscribeToken,
    read_token,
    record_unsubscribe,
    secret_of,
)
from ums_pipelines.settings import Settings
from ums_pipelines.shortlinks.server import not_found
from ums_pipelines.store.engine import Store, urgent

__all__ = ["MAX_EVENTS", "MAX_SKEW_S", "SIGNATURE", "TIMESTAMP", "optout_routes", "sign"]

log = logging.getLogger(__name__)
SIGNATURE, TIMESTAMP = "X-UMS-Signature", "X-UMS-Timestamp"
MAX_SKEW_S = 300
MAX_EVENTS = 1000
_MAX_BODY = 256_000
_ACTOR = "app-push-settings"

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    # The page's one form posts back here; nothing else may load or be sent anywhere.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
_STYLE = (
    'body{font-family:system-ui,"Apple SD Gothic Neo","Malgun Gothic",sans-serif;margin:0;'
    "padding:3rem 1.25rem;text-align:center;color:#1f2933;background:#f5f7fa}"
    "main{max-width:28rem;margin:0 auto;background:#fff;border-radius:12px;padding:2rem 1.5rem}"
    "p{line-height:1.6}.en{color:#52606d;font-size:.95rem}"
    "button{font-size:1rem;padding:.75rem 1.5rem;border:0;border-radius:8px;"
    "background:#1f6feb;color:#fff}"
)


def _page(page_id: str, ko: str, en: str, body: str = "") -> HTMLResponse:
    html = (
        '<!doctype html><html lang="ko"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(ko)}</title><style>{_STYLE}</style></head>"
        f'<body><main id="{page_id}"><h1>{escape(ko)}<br><span class="en">{escape(en)}'
        f"</span></h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, headers=_HEADERS)


# What each purpose's unsubscribe ends, in the customer's words.
_KINDS = {
    "advertising": (
        "광고성",
        "advertising",
        " 거래 안내 등 정보성 이메일은 계속 발송됩니다.",
        " Account notices still arrive.",
    ),
    "informational": ("안내", "informational", "", ""),
    "auth": ("인증", "authentication", "", ""),
}


def _confirm_text(purpose: str) -> str:
    ko, en, ko_more, en_more = _KINDS.get(purpose, _KINDS["advertising"])
    return (
        f"<p>UMS은행의 {ko} 이메일 수신을 거부합니다.{ko_more}</p>"
        f'<p class="en">You will no longer receive {en} e-mail from UMS Bank.{en_more}</p>'
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">수신거부 · Unsubscribe</button></form>'
    )


DONE_TEXT = (
    "<p>수신거부가 처리되었습니다. 처리 결과는 14일 이내에 다시 안내해 드립니다.</p>"
    '<p class="en">You are unsubscribed; we will confirm it to you within 14 days.</p>'
)


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _signed(secret: bytes, headers: Mapping[str, str], body: bytes, now: float) -> bool:
    stamp, given = headers.get(TIMESTAMP), headers.get(SIGNATURE)
    if not stamp or not given or not stamp.isdigit():
        return False
    if abs(now - int(stamp)) > MAX_SKEW_S:
        return False
    return hmac.compare_digest(sign(secret, int(stamp), body), given)


class _OptOutEndpoints:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.store, self.settings, self.clock = store, settings, clock

    def _token(self, raw: str) -> UnsubscribeToken | None:
        try:
            return read_token(secret_of(self.settings), raw)
        except UnsubscribeError:
            return None

    async def unsubscribe(self, request: Request) -> Response:
        token = self._token(request.path_params["token"])
        if token is None:
            return not_found()
        if request.method == "GET":
            return _page(
                "unsubscribe",
                "이메일 수신거부",
                "Unsubscribe from e-mail",
                _confirm_text(token.purpose),
            )
        await run_in_threadpool(self._record, token)
        return _page("unsubscribed", "수신거부 완료", "Unsubscribed", DONE_TEXT)

    def _record(self, token: UnsubscribeToken) -> None:
        with urgent(), self.store.session() as session:
            record_unsubscribe(session, token, at=self.clock())

    async def push_settings(self, request: Request) -> Response:
        secret = self.settings.app_webhook_secret
        if secret is None or not secret.get_secret_value():
            return JSONResponse({"error": "app_webhook_secret: not configured"}, 503)
        body = await request.body()
        now = self.clock()
        if not _signed(secret.get_secret_value().encode(), request.headers, body, now.timestamp()):
            return JSONResponse({"error": "signature: missing, stale or not matching"}, 401)
        if len(body) > _MAX_BODY:
            return JSONResponse({"error": f"body: more than {_MAX_BODY} bytes"}, 400)
        try:
            parsed = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "body: not JSON"}, 400)
        items = (
            parsed.get("events") if isinstance(parsed, dict) and "events" in parsed else [parsed]
        )
        if not isinstance(items, list) or not items or len(items) > MAX_EVENTS:
            return JSONResponse({"error": f"events: a list of 1 to {MAX_EVENTS} events"}, 400)
        events: list[PushEvent] = []
        bad: list[BadRow] = []
        for n, item in enumerate(items, 1):
            try:
                events.append(push_event(n, item, self.settings.tz))
            except ValueError as exc:
                bad.append(BadRow(n, str(exc)))
        result = FeedResult(
            "push_off", f"app@{now.strftime('%Y%m%dT%H%M%S')}", len(events), bad=bad
        )
        await run_in_threadpool(self._push, events, result, now)
        shown = result.as_dict()
        shown.pop("name")
        return JSONResponse(shown, headers={"Cache-Control": "no-store"})

    def _push(self, events: list[PushEvent], result: FeedResult, now: datetime) -> None:
        if not events:
            return
        with urgent(), self.store.session() as session:
            apply_push_events(session, events, result, actor=_ACTOR, now=now)


def optout_routes(
    store: Store, settings: Settings, clock: Callable[[], datetime]
) -> list[BaseRoute]:
    endpoints = _OptOutEndpoints(store, settings, clock)
    return [
        Route("/u/{token}", endpoints.unsubscribe, methods=["GET", "POST"]),
        Route("/app/push-settings", endpoints.push_settings, methods=["POST"]),
    ]
