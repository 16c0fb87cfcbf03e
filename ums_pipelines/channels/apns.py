"""APNs provider API over HTTP/2: one ``POST /3/device/{token}`` per notification.

APNs is HTTP/2 only, so this adapter has its own httpx client (``http2=True``; on an
``http://`` URL, as with the simulator, HTTP/2 with prior knowledge): the shared client
runs on aiohttp, which has no HTTP/2. One connection carries a batch's requests as
concurrent streams. The provider token (an ES256 JWT in production) comes from the
environment (``UMS_APNS_TOKEN``); its signing and hourly refresh belong to whoever mints
it, not to the send path.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from ums_pipelines.channels.errors import outcome_for
from ums_pipelines.channels.payload import Payload
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.gateway_sim import codes

__all__ = ["APNS_MAX_PAYLOAD_BYTES", "ApnsAdapter", "apns_id", "apns_request"]

APNS_MAX_PAYLOAD_BYTES = 4096
# Lanes at or below this priority number are time-critical (urgent, OTP, transactional).
_URGENT_PRIORITY = 30


def apns_id(idempotency_key: str) -> str:
    """A notification's apns-id, the same on every retry of the message."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ums:{idempotency_key}"))


def apns_request(m: Claimed, topic: str, now: float | None = None) -> tuple[dict[str, str], bytes]:
    """The headers and JSON body of one notification."""
    payload = Payload.from_json(m.payload)
    push = payload.push
    aps: dict[str, Any] = {"alert": {"title": m.subject or "", "body": m.body}}
    if push is not None and push.badge is not None:
        aps["badge"] = push.badge
    aps["sound"] = push.sound if push is not None and push.sound else "default"
    # Custom keys sit beside "aps"; "aps" itself is Apple's and cannot be overridden.
    body: dict[str, Any] = {k: v for k, v in (push.data if push else {}).items() if k != "aps"}
    body["aps"] = aps
    body["ums_key"] = m.idempotency_key
    headers = {
        "apns-push-type": "alert",
        "apns-topic": topic,
        # 10 = at once; 5 = as power allows, for what is not time-critical (marketing).
        "apns-priority": "10" if m.priority <= _URGENT_PRIORITY else "5",
        "apns-id": apns_id(m.idempotency_key),
        "Idempotency-Key": m.idempotency_key,
    }
    if push is not None and push.ttl_s is not None:
        moment = time.time() if now is None else now
        headers["apns-expiration"] = str(int(moment) + push.ttl_s) if push.ttl_s > 0 else "0"
    if push is not None and push.collapse_key:
        headers["apns-collapse-id"] = push.collapse_key
    return headers, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


class ApnsAdapter:
    batch_size = 200
    concurrency = 2

    def __init__(
        self, base_url: str, token: str, topic: str, in_flight: int = 100, timeout: float = 30.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.topic = topic
        self.auth = f"bearer {token}"
        self.in_flight = in_flight
        self.timeout = timeout

    def _client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
        return httpx.AsyncClient(http1=False, http2=True, timeout=self.timeout, limits=limits)

    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]:
        gate = asyncio.Semaphore(self.in_flight)
        async with self._client() as client:
            return list(await asyncio.gather(*(self._one(client, gate, m) for m in batch)))

    async def _one(
        self, client: httpx.AsyncClient, gate: asyncio.Semaphore, m: Claimed
    ) -> SendOutcome:
        headers, body = apns_request(m, self.topic)
        if len(body) > APNS_MAX_PAYLOAD_BYTES:
            reason = f"payload is {len(body)} bytes, APNs takes {APNS_MAX_PAYLOAD_BYTES}"
            return outcome_for(m.id, codes.APNS, "PayloadTooLarge", reason)
        headers["authorization"] = self.auth
        url = f"{self.base_url}/3/device/{m.recipient}"
        async with gate:
            try:
                response = await client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                return SendOutcome(m.id, "retry", code="E-TRANSPORT", reason=type(exc).__name__)
        if response.status_code == 200:
            return SendOutcome(
                m.id, "accepted", provider_message_id=response.headers.get("apns-id")
            )
        try:
            reason = str(response.json().get("reason") or f"HTTP-{response.status_code}")
        except ValueError:
            reason = f"HTTP-{response.status_code}"
        # The taxonomy decides: token reasons retire the token, 429/5xx retry, our
        # configuration's (provider token, topic) stop without falling back.
        return outcome_for(
            m.id, codes.APNS, reason, f"APNs {response.status_code}", _retry_after(response)
        )
