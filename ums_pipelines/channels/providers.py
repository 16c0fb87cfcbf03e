"""Provider adapters: each speaks one provider's wire format and maps its answers.

Every adapter takes claimed outbox rows and returns one ``SendOutcome`` per row; a
transport failure (timeout, 5xx, 429) becomes "retry" for the whole request, because the
provider may or may not have accepted it and the idempotency key makes the retry safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any, Protocol

import aiohttp
import aiosmtplib
import httpx
from httpx_aiohttp import AiohttpTransport

from ums_pipelines.channels.apns import ApnsAdapter
from ums_pipelines.channels.content import ContentError, ContentStore
from ums_pipelines.channels.dm_vendor import DmVendorAdapter
from ums_pipelines.channels.email_mime import build_mime
from ums_pipelines.channels.errors import MAPPINGS, outcome_for
from ums_pipelines.channels.fcm import fcm_message
from ums_pipelines.channels.routing import TypeRouter
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.gateway_sim import codes
from ums_pipelines.settings import Settings

__all__ = [
    "AlimTalkAdapter",
    "FcmAdapter",
    "PooledClient",
    "ProviderAdapter",
    "SmsRelayAdapter",
    "SmtpAdapter",
    "build_adapters",
    "make_client",
    "retry_all",
]

# Codes that no retry can fix, of any provider; what each one means for the send (and
# whether the chain goes on) is channels.errors.classify's answer.
PERMANENT = frozenset(
    code for mapping in MAPPINGS.values() for code, e in mapping.items() if e.status == "rejected"
)


class ProviderAdapter(Protocol):
    batch_size: int
    concurrency: int

    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]: ...


def retry_all(
    batch: Sequence[Claimed], code: str, reason: str, after: float | None = None
) -> list[SendOutcome]:
    return [SendOutcome(m.id, "retry", code=code, reason=reason, retry_after=after) for m in batch]


def _retry_after(response: httpx.Response) -> float | None:
    return _seconds(response.headers.get("Retry-After"))


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _map_results(
    batch: Sequence[Claimed], payload: dict[str, Any], provider: str = codes.RELAY
) -> list[SendOutcome]:
    by_key = {r.get("clientKey"): r for r in payload.get("results", [])}
    outcomes = []
    for m in batch:
        r = by_key.get(m.idempotency_key)
        if r is None:
            outcomes.append(SendOutcome(m.id, "retry", code="E-NORESULT", reason="no result"))
        elif r.get("status") in ("accepted", "duplicate"):
            outcomes.append(SendOutcome(m.id, "accepted", provider_message_id=r.get("messageId")))
        else:
            outcomes.append(outcome_for(m.id, provider, str(r.get("code")), r.get("reason")))
    return outcomes


class _HttpBatchAdapter:
    batch_size = 500
    concurrency = 4
    provider = codes.RELAY  # whose error codes its answers carry

    def __init__(self, client: httpx.AsyncClient, base_url: str, token: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}

    async def _post(
        self, url: str, body: dict[str, Any], batch: Sequence[Claimed]
    ) -> list[SendOutcome]:
        try:
            response = await self.client.post(url, json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            return retry_all(batch, "E-TRANSPORT", type(exc).__name__)
        if response.status_code == 429 or response.status_code >= 500:
            return retry_all(
                batch, f"HTTP-{response.status_code}", "provider busy", _retry_after(response)
            )
        if response.status_code != 200:
            # A whole request refused (bad auth, malformed) is our configuration error.
            reason = response.text[:200]
            return [
                SendOutcome(
                    m.id,
                    "rejected",
                    code=f"HTTP-{response.status_code}",
                    reason=reason,
                    fall_back=False,
                )
                for m in batch
            ]
        return _map_results(batch, response.json(), self.provider)


class SmsRelayAdapter(_HttpBatchAdapter):
    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]:
        body = {
            "messages": [
                {
                    "clientKey": m.idempotency_key,
                    "type": m.message_type,
                    "from": m.sender,
                    "to": m.recipient,
                    "subject": m.subject,
                    "text": m.body,
                }
                for m in batch
            ]
        }
        return await self._post(f"{self.base_url}/sms/v1/messages/batch", body, batch)


class AlimTalkAdapter(_HttpBatchAdapter):
    provider = codes.KAKAO

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, token: str, sender_key: str
    ) -> None:
        super().__init__(client, base_url, token)
        self.sender_key = sender_key

    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]:
        outcomes: list[SendOutcome] = []
        # One request per approved template: Kakao checks each text against its template.
        by_template: dict[str | None, list[Claimed]] = {}
        for m in batch:
            by_template.setdefault(m.provider_template_code, []).append(m)
        for code, group in by_template.items():
            body = {
                "templateCode": code,
                "messages": [
                    {"clientKey": m.idempotency_key, "to": m.recipient, "text": m.body}
                    for m in group
                ],
            }
            url = f"{self.base_url}/alimtalk/v2/senders/{self.sender_key}/messages"
            outcomes.extend(await self._post(url, body, group))
        return outcomes


class FcmAdapter:
    """FCM HTTP v1 takes one message per request, so concurrency is the throughput lever."""

    batch_size = 200
    concurrency = 3

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        token: str,
        project: str,
        in_flight: int = 64,
    ) -> None:
        self.client = client
        self.url = f"{base_url.rstrip('/')}/v1/projects/{project}/messages:send"
        self.token = token
        self.in_flight = asyncio.Semaphore(in_flight)

    async def _one(self, m: Claimed) -> SendOutcome:
        # Compact, as the push size check counts it (checks.push._dumps).
        message = {"message": fcm_message(m)}
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": m.idempotency_key,
            "Content-Type": "application/json",
        }
        async with self.in_flight:
            if isinstance(self.client, PooledClient):
                try:
                    session = self.client.aiohttp_session()
                    async with session.post(self.url, data=body, headers=headers) as r:
                        status, text = r.status, await r.text()
                        retry_after = r.headers.get("Retry-After")
                except (aiohttp.ClientError, TimeoutError) as exc:
                    return SendOutcome(m.id, "retry", code="E-TRANSPORT", reason=type(exc).__name__)
            else:
                try:
                    response = await self.client.post(self.url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    return SendOutcome(m.id, "retry", code="E-TRANSPORT", reason=type(exc).__name__)
                status, text = response.status_code, response.text
                retry_after = response.headers.get("Retry-After")
        return self._outcome(m, status, text, retry_after)

    @staticmethod
    def _outcome(m: Claimed, status: int, text: str, retry_after: str | None) -> SendOutcome:
        if status == 200:
            return SendOutcome(m.id, "accepted", provider_message_id=json.loads(text).get("name"))
        if status == 429 or status >= 500:
            return SendOutcome(
                m.id,
                "retry",
                code=f"HTTP-{status}",
                reason="provider busy",
                retry_after=_seconds(retry_after),
            )
        code = f"HTTP-{status}"
        try:
            error = json.loads(text).get("error", {})
            code = error.get("status", code)
            for detail in error.get("details", []):
                code = detail.get("errorCode", code)
        except (ValueError, AttributeError):
            pass
        return outcome_for(m.id, codes.FCM, code, text[:200])

    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]:
        return list(await asyncio.gather(*(self._one(m) for m in batch)))


class SmtpAdapter:
    """A real SMTP conversation per connection; the idempotency key travels as a header."""

    batch_size = 100
    concurrency = 4

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        timeout: float = 30.0,
        content: ContentStore | None = None,
    ) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self.content = content

    def _mime(self, m: Claimed) -> EmailMessage:
        return build_mime(m, self.sender, self.content)

    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]:
        outcomes: list[SendOutcome] = []
        try:
            smtp = aiosmtplib.SMTP(hostname=self.host, port=self.port, timeout=self.timeout)
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            return retry_all(batch, "E-TRANSPORT", type(exc).__name__)
        try:
            for m in batch:
                try:
                    mime = self._mime(m)
                except (ContentError, ValueError) as exc:
                    outcomes.append(
                        SendOutcome(m.id, "rejected", code="E-CONTENT", reason=str(exc))
                    )
                    continue
                try:
                    await smtp.send_message(mime)
                    outcomes.append(SendOutcome(m.id, "accepted"))
                except aiosmtplib.SMTPDataError as exc:
                    # Refused at DATA (blocked attachment, too big): the reply code says.
                    outcomes.append(outcome_for(m.id, codes.SMTP, str(exc.code), exc.message[:200]))
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    refused = next(iter(exc.recipients), None)
                    code = str(refused.code) if refused is not None else "550"
                    outcomes.append(outcome_for(m.id, codes.SMTP, code, str(exc)[:200]))
                except (aiosmtplib.SMTPException, OSError) as exc:
                    outcomes.append(
                        SendOutcome(m.id, "retry", code="E-SMTP", reason=type(exc).__name__)
                    )
        finally:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await smtp.quit()
        return outcomes


class PooledClient(httpx.AsyncClient):
    """An httpx client whose aiohttp session the one-request-per-message adapters may use
    directly: on FCM's hot path httpx's request building cost about as much CPU as
    aiohttp's whole send (py-spy of a push job: 17 % of samples)."""

    def __init__(self, transport: AiohttpTransport, timeout: float) -> None:
        super().__init__(transport=transport, timeout=timeout)
        self._aio = transport

    def aiohttp_session(self) -> aiohttp.ClientSession:
        """The transport's session (created on first use; closed with this client)."""
        if not isinstance(self._aio.client, aiohttp.ClientSession):
            self._aio.client = self._aio.get_client()
        return self._aio.client


def make_client(max_in_flight: int = 256, timeout: float = 30.0) -> httpx.AsyncClient:
    """httpx on an aiohttp transport: the default transport tops out near 500 requests/s
    on loopback, where one-request-per-message channels (FCM v1) need several thousand."""

    def session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_in_flight, limit_per_host=max_in_flight),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )

    return PooledClient(AiohttpTransport(client=session), timeout)


def build_adapters(client: httpx.AsyncClient, settings: Settings) -> dict[str, ProviderAdapter]:
    # Imported here: the international, MMS, Kakao and RCS adapters build on this module.
    from ums_pipelines.channels.intl_adapter import IntlSmsAdapter
    from ums_pipelines.channels.kakao import BrandMessageAdapter, FriendTalkAdapter
    from ums_pipelines.channels.mms import MmsAdapter
    from ums_pipelines.channels.rcs import RcsAdapter

    url, token = settings.gateway_url, settings.gateway_token
    apns = ApnsAdapter(settings.apns_url, settings.apns_token, settings.apns_topic)
    content = ContentStore(settings.content_dir)
    return {
        "sms": TypeRouter(
            SmsRelayAdapter(client, url, token),
            {
                "INTL_SMS": IntlSmsAdapter(client, settings),
                "MMS": MmsAdapter(client, url, token, content),
            },
        ),
        "rcs": RcsAdapter(client, url, token, brand_id="BR.ums-bank", content=content),
        "friendtalk": FriendTalkAdapter(client, url, token, "ums-bank", content),
        "brand": BrandMessageAdapter(client, url, token, "ums-bank", content),
        "alimtalk": AlimTalkAdapter(client, url, token, sender_key="ums-bank"),
        "push": TypeRouter(FcmAdapter(client, url, token, project="ums-bank"), {"APNS": apns}),
        "email": SmtpAdapter(
            settings.smtp_host,
            settings.smtp_port,
            "noreply@bank.example",
            content=ContentStore(settings.content_dir),
        ),
        "dm": DmVendorAdapter(client, url, token),
    }
