"""MMS through the SMS relay: images uploaded once (``/sms/v1/files``), then the batch.

The relay's ordinary batch (``/sms/v1/messages/batch``) carries ``type: MMS`` with the
``subject``, the ``text`` and ``fileIds`` of the uploaded JPEGs, as Korean relays' file
APIs do; see ``gateway_sim.mms`` for the relay's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.errors import outcome_for
from ums_pipelines.channels.payload import Payload
from ums_pipelines.channels.providers import _HttpBatchAdapter
from ums_pipelines.channels.uploads import Uploader, UploadFailed
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.gateway_sim import codes

__all__ = ["MmsAdapter", "failed_upload"]


def failed_upload(m: Claimed, provider: str, exc: UploadFailed) -> SendOutcome:
    if exc.retry:
        return SendOutcome(m.id, "retry", code=exc.code, reason=exc.reason)
    if exc.code == "E-CONTENT":
        # The image is gone from our own store: no provider will take this row.
        return SendOutcome(m.id, "rejected", code=exc.code, reason=exc.reason)
    return outcome_for(m.id, provider, exc.code, exc.reason)


def _error_code(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    return str(error.get("code")) if isinstance(error, dict) else None


class MmsAdapter(_HttpBatchAdapter):
    batch_size = 200

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, token: str, content: ContentStore
    ) -> None:
        super().__init__(client, base_url, token)
        self.files = Uploader(
            client,
            f"{self.base_url}/sms/v1/files",
            self.headers,
            "file",
            lambda body: body.get("fileId"),
            content,
            _error_code,
        )

    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]:
        ready: list[tuple[Claimed, dict[str, Any]]] = []
        refused: dict[int, SendOutcome] = {}
        for m in batch:
            payload = Payload.from_json(m.payload)
            try:
                file_ids = [await self.files.handle_for(image) for image in payload.images]
            except UploadFailed as exc:
                refused[m.id] = failed_upload(m, codes.RELAY, exc)
                continue
            ready.append((m, _message(m, file_ids)))
        sent: dict[int, SendOutcome] = {}
        if ready:
            body = {"messages": [wire for _, wire in ready]}
            rows = [m for m, _ in ready]
            url = f"{self.base_url}/sms/v1/messages/batch"
            sent = {o.message_id: o for o in await self._post(url, body, rows)}
        return [refused.get(m.id) or sent[m.id] for m in batch]


def _message(m: Claimed, file_ids: list[str]) -> dict[str, Any]:
    return {
        "clientKey": m.idempotency_key,
        "type": "MMS",
        "from": m.sender,
        "to": m.recipient,
        "subject": m.subject,
        "text": m.body,
        "fileIds": file_ids,
    }
