"""The DM adapter: a claimed batch of letters goes to the print vendor as one upload.

``POST /dm/v1/batches`` (multipart: ``batch`` file and ``pdf``); the vendor answers per
record by idempotency key, like the SMS relay's batch API. The batch id is derived from
the keys, so a retried batch is the same batch to the vendor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from ums_pipelines.channels.dm import DmError, Letter, build_batch, check_letter
from ums_pipelines.channels.errors import outcome_for
from ums_pipelines.channels.payload import Payload
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.gateway_sim import codes

__all__ = ["E_DM_FIELD", "DmVendorAdapter", "letter_of"]

# A letter that cannot go into the batch file (a field too long, a character the vendor
# cannot print): refused here, before the vendor sees it.
E_DM_FIELD = "E-DM-FIELD"


def letter_of(m: Claimed) -> Letter:
    dm = Payload.from_json(m.payload).dm
    if dm is None:
        raise DmError("payload.dm: a DM needs a postal address")
    return Letter(
        key=m.idempotency_key,
        name=dm.name or "",
        postcode=dm.postcode,
        address=dm.address,
        address_detail=dm.address_detail or "",
        text=m.body,
    )


class DmVendorAdapter:
    batch_size = 500
    concurrency = 1

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, token: str, sender: str = "UMS BANK"
    ) -> None:
        self.client = client
        self.url = f"{base_url.rstrip('/')}/dm/v1/batches"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.sender = sender

    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]:
        outcomes: dict[int, SendOutcome] = {}
        letters: list[tuple[Claimed, Letter]] = []
        for m in batch:
            try:
                letter = letter_of(m)
                check_letter(letter)
            except DmError as exc:
                outcomes[m.id] = SendOutcome(m.id, "rejected", code=E_DM_FIELD, reason=str(exc))
                continue
            letters.append((m, letter))
        if letters:
            for outcome in await self._upload(letters):
                outcomes[outcome.message_id] = outcome
        return [outcomes[m.id] for m in batch]

    async def _upload(self, letters: list[tuple[Claimed, Letter]]) -> list[SendOutcome]:
        keys = "\n".join(letter.key for _, letter in letters)
        batch_id = f"DM{hashlib.sha256(keys.encode()).hexdigest()[:24].upper()}"
        made = build_batch(batch_id, self.sender, [lt for _, lt in letters], datetime.now(UTC))
        files = {
            "batch": (f"{batch_id}.dat", made.records, "application/octet-stream"),
            "pdf": (f"{batch_id}.pdf", made.pdf, "application/pdf"),
        }
        rows = [m for m, _ in letters]
        try:
            response = await self.client.post(self.url, files=files, headers=self.headers)
        except httpx.HTTPError as exc:
            return [
                SendOutcome(m.id, "retry", code="E-TRANSPORT", reason=type(exc).__name__)
                for m in rows
            ]
        if response.status_code == 429 or response.status_code >= 500:
            code = f"HTTP-{response.status_code}"
            return [SendOutcome(m.id, "retry", code=code, reason="vendor busy") for m in rows]
        if response.status_code != 200:
            try:
                error = response.json()["error"]
                code, reason = str(error["code"]), str(error["message"])
            except (ValueError, KeyError, TypeError):
                code, reason = f"HTTP-{response.status_code}", response.text[:200]
            return [outcome_for(m.id, codes.DM, code, reason) for m in rows]
        by_key = {r.get("clientKey"): r for r in response.json().get("results", [])}
        outcomes: list[SendOutcome] = []
        for m in rows:
            r = by_key.get(m.idempotency_key)
            if r is None:
                outcomes.append(SendOutcome(m.id, "retry", code="E-NORESULT", reason="no result"))
            elif r.get("status") in ("accepted", "duplicate"):
                outcomes.append(
                    SendOutcome(m.id, "accepted", provider_message_id=r.get("messageId"))
                )
            else:
                outcomes.append(outcome_for(m.id, codes.DM, str(r.get("code")), r.get("reason")))
        return outcomes
