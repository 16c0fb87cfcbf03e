"""The simulated APNs provider API, served over HTTP/2 (cleartext, prior knowledge).

``POST /3/device/{token}`` with the APNs request headers and a JSON body; answers 200
with ``apns-id`` or a status with ``{"reason": ...}`` (and ``timestamp`` for 410), the
reasons of Apple's documentation. Real APNs speaks HTTP/2 over TLS only; the simulator
speaks h2c so loopback needs no certificates, and is served by hypercorn (uvicorn has no
HTTP/2). Push faults (503 draws, 429 bursts) are shared with FCM: both are "push".
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ums_pipelines.gateway_sim import rules
from ums_pipelines.gateway_sim.config import SimConfig
from ums_pipelines.gateway_sim.faults import FaultInjector
from ums_pipelines.gateway_sim.ledger import Ledger
from ums_pipelines.gateway_sim.records import NewMessage

__all__ = [
    "APNS_MAX_PAYLOAD_BYTES",
    "APNS_REASONS",
    "ApnsRejection",
    "check_apns",
    "create_apns_app",
]

APNS_MAX_PAYLOAD_BYTES = 4096
# Every reason this simulator answers with, and its HTTP status (Apple's table).
APNS_REASONS: Mapping[str, int] = {
    "BadCollapseId": 400,
    "BadDeviceToken": 400,
    "BadExpirationDate": 400,
    "BadMessageId": 400,
    "BadPriority": 400,
    "BadTopic": 400,
    "DeviceTokenNotForTopic": 400,
    "InvalidPushType": 400,
    "MissingTopic": 400,
    "PayloadEmpty": 400,
    "InvalidProviderToken": 403,
    "MissingProviderToken": 403,
    "BadPath": 404,
    "MethodNotAllowed": 405,
    "Unregistered": 410,
    "PayloadTooLarge": 413,
    "TooManyRequests": 429,
    "InternalServerError": 500,
    "ServiceUnavailable": 503,
}
# Client key header: APNs has no idempotency key of its own (apns-id only names a
# notification), so, as for FCM, the simulator takes the UMS key in this header.
IDEMPOTENCY_HEADER = "Idempotency-Key"
_PUSH_TYPES = {"alert", "background", "voip", "complication", "fileprovider", "mdm", "liveactivity"}
_TOKEN = re.compile(r"[0-9a-fA-F]{64}")
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_TOPIC = re.compile(r"[A-Za-z0-9.-]+")

log = logging.getLogger(__name__)


class ApnsRejection(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = APNS_REASONS[reason]


def check_apns(
    headers: Mapping[str, str], token: str, body: bytes, topic: str
) -> dict[str, object]:
    """Apple's request checks in their order; returns the parsed payload or raises."""
    scheme, _, jwt = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not jwt.strip():
        raise ApnsRejection("MissingProviderToken")
    if _JWT.fullmatch(jwt.strip()) is None:
        raise ApnsRejection("InvalidProviderToken")
    if "apns-topic" not in headers:
        raise ApnsRejection("MissingTopic")
    if _TOPIC.fullmatch(headers["apns-topic"]) is None:
        raise ApnsRejection("BadTopic")
    if headers["apns-topic"] != topic:
        raise ApnsRejection("DeviceTokenNotForTopic")
    if headers.get("apns-push-type", "alert") not in _PUSH_TYPES:
        raise ApnsRejection("InvalidPushType")
    if headers.get("apns-priority", "10") not in {"1", "5", "10"}:
        raise ApnsRejection("BadPriority")
    if not headers.get("apns-expiration", "0").isdigit():
        raise ApnsRejection("BadExpirationDate")
    if len(headers.get("apns-collapse-id", "").encode()) > 64:
        raise ApnsRejection("BadCollapseId")
    if "apns-id" in headers:
        try:
            uuid.UUID(headers["apns-id"])
        except ValueError:
            raise ApnsRejection("BadMessageId") from None
    if not token.startswith("invalid-") and _TOKEN.fullmatch(token) is None:
        raise ApnsRejection("BadDeviceToken")
    if len(body) > APNS_MAX_PAYLOAD_BYTES:
        raise ApnsRejection("PayloadTooLarge")
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
        raise ApnsRejection("PayloadEmpty")
    return payload


def _error(reason: str, retry_after: int | None = None) -> JSONResponse:
    content: dict[str, object] = {"reason": reason}
    if reason == "Unregistered":
        # When Apple last learned the token was invalid, epoch milliseconds.
        content["timestamp"] = time.time_ns() // 1_000_000
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(content, status_code=APNS_REASONS[reason], headers=headers)


def create_apns_app(
    config: SimConfig,
    ledger: Ledger,
    topic: str = "kr.example.umsbank",
    clock: Callable[[], float] | None = None,
) -> Starlette:
    faults = FaultInjector(config) if clock is None else FaultInjector(config, clock)

    async def send(request: Request) -> Response:
        device = request.path_params["token"]
        body = await request.body()
        try:
            payload = check_apns(request.headers, device, body, topic)
        except ApnsRejection as exc:
            return _error(exc.reason)
        burst = faults.burst_retry_after("push")
        if burst is not None:
            return _error("TooManyRequests", burst)
        if faults.draw("push") == "5xx":
            return _error("ServiceUnavailable", 1)
        if device.startswith("invalid-"):
            return _error("Unregistered")
        apns_id = request.headers.get("apns-id") or str(uuid.uuid4())
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip() or apns_id
        aps = payload["aps"]
        alert = aps.get("alert") if isinstance(aps, dict) else None
        title, text = (
            (alert.get("title"), alert.get("body")) if isinstance(alert, dict) else (None, alert)
        )
        wire = {
            "path": request.url.path,
            "http_version": request.scope.get("http_version"),
            "headers": {k: v for k, v in request.headers.items() if k.startswith("apns-")},
            "payload": payload,
        }
        outcome = rules.handset_outcome(config, key)
        record = NewMessage(
            client_key=key,
            message_id=apns_id,
            channel="push",
            type="APNS",
            sender=request.headers["apns-topic"],
            recipient=device,
            subject=None if title is None else str(title),
            body="" if text is None else str(text),
            outcome="delivered" if outcome.delivered else "failed",
            code=outcome.code,
            reason=outcome.reason,
            wire=json.dumps(wire, ensure_ascii=False),
        )
        (result,) = await run_in_threadpool(ledger.accept, config, [record])
        log.debug("apns %s", "duplicate" if result.duplicate else "accepted")
        # A retried notification gets the id it was first accepted under.
        return Response(status_code=200, headers={"apns-id": result.message_id})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "http_version": request.scope.get("http_version")})

    return Starlette(
        routes=[
            Route("/3/device/{token}", send, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
