"""The HTTP side of the review hook: signed requests out, signed callbacks in.

Both directions carry ``X-UMS-Timestamp`` (Unix seconds) and ``X-UMS-Signature``
(``sha256=`` and the hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under
``UMS_REVIEW_SECRET``). The timestamp is signed so a captured callback cannot be replayed
later: one older or newer than ``MAX_SKEW_S`` is refused. The secret is read from the
environment only; without it nothing is sent or accepted.

The callback server (``ums review-hook serve``) answers ``POST /review/decision`` with the
decision's JSON body: 200 applied (approved, rejected or void), 409 refused (the author,
no approver role, a closed job), 400 bad input naming the field, 401 a bad signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ums_pipelines.compliance.review_hook import (
    Decision,
    Outcome,
    ReviewHookError,
    apply_decision,
)
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store

__all__ = [
    "MAX_SKEW_S",
    "SIGNATURE",
    "TIMESTAMP",
    "create_app",
    "post_request",
    "sign",
    "verify",
]

log = logging.getLogger(__name__)
SIGNATURE, TIMESTAMP = "X-UMS-Signature", "X-UMS-Timestamp"
MAX_SKEW_S = 300
_MAX_BODY = 64_000


def _secret(settings: Settings) -> bytes:
    if not settings.review_secret:
        raise ReviewHookError("review_secret: set UMS_REVIEW_SECRET in the environment")
    return settings.review_secret.encode()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: bytes, headers: Mapping[str, str], body: bytes, now: float | None = None
) -> None:
    """ReviewHookError unless the signature is ours and the timestamp recent."""
    stamp, given = headers.get(TIMESTAMP), headers.get(SIGNATURE)
    if not stamp or not given:
        raise ReviewHookError(f"signature: {TIMESTAMP} and {SIGNATURE} headers are required")
    try:
        when = int(stamp)
    except ValueError:
        raise ReviewHookError(f"signature: {TIMESTAMP} is not Unix seconds") from None
    now = time.time() if now is None else now
    if abs(now - when) > MAX_SKEW_S:
        raise ReviewHookError(f"signature: timestamp more than {MAX_SKEW_S} s from now")
    if not hmac.compare_digest(sign(secret, when, body), given):
        raise ReviewHookError("signature: does not match the body")


def post_request(
    settings: Settings, payload: Mapping[str, Any], client: httpx.Client | None = None
) -> str | None:
    """POST a request, signed; returns the review system's reference if it answers one.
    A failure raises ReviewHookError, and the request is not recorded as sent."""
    if not settings.review_url:
        raise ReviewHookError("review_url: set UMS_REVIEW_URL to send requests by HTTP")
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP: str(stamp),
        SIGNATURE: sign(_secret(settings), stamp, body),
    }
    own = client is None
    http = client or httpx.Client(timeout=10.0)
    try:
        response = http.post(settings.review_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ReviewHookError(f"review_url: not reachable ({type(exc).__name__})") from None
    finally:
        if own:
            http.close()
    if response.status_code >= 300:
        raise ReviewHookError(f"review_url: answered HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        return None
    ref = answer.get("external_ref") if isinstance(answer, dict) else None
    return str(ref)[:128] if ref else None


def _apply(store: Store, settings: Settings, decision: Decision) -> Outcome:
    with store.session() as session:
        return apply_decision(session, settings, decision, via="http")


def create_app(store: Store, settings: Settings) -> Starlette:
    """The callback server; refuses to start without the secret."""
    secret = _secret(settings)

    async def decision(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > _MAX_BODY:
            return JSONResponse({"error": f"body: larger than {_MAX_BODY} bytes"}, 413)
        try:
            verify(secret, request.headers, body)
        except ReviewHookError as exc:
            return JSONResponse({"error": str(exc)}, 401)
        try:
            parsed = Decision.parse(json.loads(body))
            outcome = await run_in_threadpool(_apply, store, settings, parsed)
        except (ValueError, KeyError) as exc:  # ReviewHookError, a bad JSON, no job
            why = str(exc.args[0]) if isinstance(exc, KeyError) else str(exc)
            return JSONResponse({"error": why}, 400)
        except Exception as exc:  # the type only: a DB error's text carries its values
            log.error("review callback failed: %s", type(exc).__name__)
            return JSONResponse({"error": "internal error"}, 500)
        answer = {"request_ref": outcome.request_ref, "status": outcome.status}
        return JSONResponse({**answer, "message": outcome.message}, 200 if outcome.applied else 409)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/review/decision", decision, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
