"""Kakao FriendTalk and brand message adapters (bizmessage shape, see gateway_sim.kakao_ext).

Images are uploaded once to Kakao's image endpoint, which answers with the URL a send
names; every message goes with ``adFlag: Y`` (both are advertising products) and its
buttons in Kakao's fields (``linkMo``, ``linkPc``, ``schemeAndroid``, ``schemeIos``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.mms import failed_upload
from ums_pipelines.channels.payload import Button, Payload
from ums_pipelines.channels.providers import _HttpBatchAdapter
from ums_pipelines.channels.uploads import Uploader, UploadFailed
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.gateway_sim import codes

__all__ = ["BrandMessageAdapter", "FriendTalkAdapter", "kakao_button"]


def kakao_button(button: Button) -> dict[str, str]:
    fields = {
        "type": button.type,
        "name": button.name,
        "linkMo": button.url_mobile,
        "linkPc": button.url_pc,
        "schemeAndroid": button.scheme_android,
        "schemeIos": button.scheme_ios,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _error_code(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    return str(error.get("code")) if isinstance(error, dict) else None


class _KakaoTyped(_HttpBatchAdapter):
    provider = codes.KAKAO
    path = ""  # the product's send path under the gateway, with {senderKey}

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        token: str,
        sender_key: str,
        content: ContentStore,
    ) -> None:
        super().__init__(client, base_url, token)
        self.sender_key = sender_key
        self.images = Uploader(
            client,
            f"{self.base_url}/kakao/v2/senders/{sender_key}/images",
            self.headers,
            "image",
            lambda body: body.get("imageUrl"),
            content,
            _error_code,
        )

    def message_type(self, m: Claimed, payload: Payload) -> str:
        return m.message_type.removeprefix("FRIENDTALK_")

    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]:
        ready: list[tuple[Claimed, dict[str, Any]]] = []
        refused: dict[int, SendOutcome] = {}
        for m in batch:
            payload = Payload.from_json(m.payload)
            wire: dict[str, Any] = {
                "clientKey": m.idempotency_key,
                "to": m.recipient,
                "messageType": self.message_type(m, payload),
                "text": m.body,
                "adFlag": "Y",
            }
            if payload.images:
                image = payload.images[0]
                try:
                    url = await self.images.handle_for(image)
                except UploadFailed as exc:
                    refused[m.id] = failed_upload(m, codes.KAKAO, exc)
                    continue
                wire["image"] = {"imageUrl": url, "imageLink": image.link}
                if image.link is None:
                    del wire["image"]["imageLink"]
            if payload.buttons:
                wire["buttons"] = [kakao_button(b) for b in payload.buttons]
            ready.append((m, wire))
        sent: dict[int, SendOutcome] = {}
        if ready:
            url = f"{self.base_url}{self.path.format(senderKey=self.sender_key)}"
            body = {"messages": [wire for _, wire in ready]}
            sent = {o.message_id: o for o in await self._post(url, body, [m for m, _ in ready])}
        return [refused.get(m.id) or sent[m.id] for m in batch]


class FriendTalkAdapter(_KakaoTyped):
    path = "/friendtalk/v2/senders/{senderKey}/messages"


class BrandMessageAdapter(_KakaoTyped):
    path = "/brand/v1/senders/{senderKey}/messages"

    def message_type(self, m: Claimed, payload: Payload) -> str:
        # A brand message's own layout; the outbox type is BRAND for every layout.
        if payload.kakao_type:
            return payload.kakao_type
        return "IMAGE" if payload.images else "TEXT"
