"""RCS Biz Center adapter: one message a request, media uploaded once (gateway_sim.rcs).

The message base follows the outbox type: the standard bases for SMS/LMS/MMS and the
approved template's id (``payload.rcs.message_base_id``) for a template. The chatbot is
the payload's, else the job's sender number; an advertisement (text opening with the
"(광고)" label) goes with ``header: "1"`` and its 080 opt-out number as the footer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

import httpx

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.errors import outcome_for
from ums_pipelines.channels.mms import failed_upload
from ums_pipelines.channels.payload import Button, Payload
from ums_pipelines.channels.providers import _retry_after
from ums_pipelines.channels.uploads import Uploader, UploadFailed
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.gateway_sim import codes

__all__ = ["MESSAGE_BASE_IDS", "RcsAdapter", "rcs_button", "rcs_message"]

MESSAGE_BASE_IDS = {"RCS_SMS": "SS000000", "RCS_LMS": "SL000000", "RCS_MMS": "SMwThM00"}
_AD_LABEL = "(광고)"
_OPT_OUT = re.compile(r"080-?\d{3,4}-?\d{4}")


def rcs_button(button: Button) -> dict[str, Any]:
    """A button as one suggestion: open a URL, dial a number or copy a text."""
    if button.type == "dial":
        action: dict[str, Any] = {
            "dialerAction": {"dialPhoneNumber": {"phoneNumber": button.phone or ""}}
        }
    elif button.type == "copy":
        action = {"clipboardAction": {"copyToClipboard": {"text": button.url_mobile or ""}}}
    else:
        action = {"urlAction": {"openUrl": {"url": button.url_mobile or button.url_pc or ""}}}
    return {"suggestions": [{"action": action, "displayText": button.name}]}


def rcs_message(
    m: Claimed, payload: Payload, brand_id: str, media: str | None = None
) -> dict[str, Any]:
    options = payload.rcs
    body: dict[str, str]
    if m.message_type == "RCS_TEMPLATE":
        base = options.message_base_id if options else None
        body = dict(options.template_variables) if options else {}
    else:
        base = MESSAGE_BASE_IDS.get(m.message_type)
        body = {"description": m.body}
        if m.subject and m.message_type != "RCS_SMS":
            body["title1"] = m.subject
        if media is not None:
            body["media"] = f"maap://content/{media}"
    wire: dict[str, Any] = {
        "clientKey": m.idempotency_key,
        "messagebaseId": base or "",
        "brandId": (options.brand_id if options else None) or brand_id,
        "chatbotId": (options.chatbot_id if options else None) or m.sender or "",
        "destinationPhoneNumber": m.recipient,
        "header": "0",
        "copyAllowed": True,
        "body": body,
    }
    if m.body.lstrip().startswith(_AD_LABEL):
        wire["header"] = "1"
        found = _OPT_OUT.search(m.body)
        if found:
            wire["footer"] = found.group(0)
    if payload.buttons:
        wire["buttons"] = [rcs_button(b) for b in payload.buttons]
    return wire


class RcsAdapter:
    batch_size = 200
    concurrency = 1

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        token: str,
        brand_id: str,
        content: ContentStore,
        in_flight: int = 32,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.brand_id = brand_id
        self.in_flight = asyncio.Semaphore(in_flight)
        self.media = Uploader(
            client,
            f"{self.base_url}/rcs/v1/files",
            self.headers,
            "file",
            lambda body: (body.get("data") or {}).get("fileId"),
            content,
            _error_code,
        )

    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]:
        return list(await asyncio.gather(*(self._one(m) for m in batch)))

    async def _one(self, m: Claimed) -> SendOutcome:
        payload = Payload.from_json(m.payload)
        media = None
        if m.message_type == "RCS_MMS" and payload.images:
            try:
                media = await self.media.handle_for(payload.images[0])
            except UploadFailed as exc:
                return failed_upload(m, codes.RCS, exc)
        body = rcs_message(m, payload, self.brand_id, media)
        async with self.in_flight:
            try:
                response = await self.client.post(
                    f"{self.base_url}/rcs/v1/messages", json=body, headers=self.headers
                )
            except httpx.HTTPError as exc:
                return SendOutcome(m.id, "retry", code="E-TRANSPORT", reason=type(exc).__name__)
        status = response.status_code
        if status == 429 or status >= 500:
            return SendOutcome(
                m.id,
                "retry",
                code=f"HTTP-{status}",
                reason="provider busy",
                retry_after=_retry_after(response),
            )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if status == 200:
            data = answer.get("data") or {}
            return SendOutcome(m.id, "accepted", provider_message_id=data.get("messageId"))
        code = _error_code(answer)
        if status in (401, 403) or code is None or code.startswith("E-"):
            # Our credentials or request shape: fix the configuration, not the route.
            return SendOutcome(
                m.id, "rejected", code=f"HTTP-{status}", reason=response.text[:200], fall_back=False
            )
        return outcome_for(m.id, codes.RCS, code, (answer.get("error") or {}).get("message"))


def _error_code(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    return str(error.get("code")) if isinstance(error, dict) else None
