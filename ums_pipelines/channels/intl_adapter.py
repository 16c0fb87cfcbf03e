"""International SMS through the relay's international API, within the policy.

Before a batch goes out, each row's country is checked against the switch and the
allow-list, and the batch against the monthly cap (``IntlPolicy.admit``, which also
raises the 70 %/100 % alerts); what is refused gets E-INTL-OFF, E-INTL-COUNTRY or
E-INTL-CAP and the chain's next leg. Text goes as UCS-2 when every character fits it
(what handsets abroad render everywhere), else as UTF-8.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from ums_pipelines.billing import ANY_PROVIDER, price_table
from ums_pipelines.channels.international import E_INTL_CAP, IntlPolicy
from ums_pipelines.channels.providers import SmsRelayAdapter
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store

__all__ = ["INTL_PROVIDER", "IntlSmsAdapter", "encoding_for"]

INTL_PROVIDER = "sim-sms"


def encoding_for(text: str) -> str:
    return "UCS-2" if all(ord(c) <= 0xFFFF for c in text) else "UTF-8"


class IntlSmsAdapter(SmsRelayAdapter):
    batch_size = 100
    concurrency = 1

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        super().__init__(client, settings.gateway_url, settings.gateway_token)
        self.settings = settings
        self.policy = IntlPolicy(settings)
        table = price_table(settings)
        own = table.get(INTL_PROVIDER, {})
        self.price = own.get("INTL_SMS", table[ANY_PROVIDER]["INTL_SMS"])

    def _admit(self, count: int) -> tuple[int, str | None]:
        # A store of its own per batch: adapters have no close hook, and international
        # batches are few (a connection per batch is nothing beside the send).
        store = Store(self.settings.store_url)
        try:
            with store.session() as session:
                admission = self.policy.admit(session, count, self.price, datetime.now(UTC))
        finally:
            store.dispose()
        return admission.allowed, admission.refused_reason

    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]:
        outcomes: dict[int, SendOutcome] = {}
        going: list[Claimed] = []
        for m in batch:
            country = m.country or ""
            refusal = self.policy.country_refusal(country)
            if refusal is not None:
                outcomes[m.id] = SendOutcome(m.id, "rejected", code=refusal[0], reason=refusal[1])
            else:
                going.append(m)
        if going:
            allowed, reason = await asyncio.to_thread(self._admit, len(going))
            for m in going[allowed:]:
                outcomes[m.id] = SendOutcome(m.id, "rejected", code=E_INTL_CAP, reason=reason)
            going = going[:allowed]
        if going:
            body = {
                "messages": [
                    {
                        "clientKey": m.idempotency_key,
                        "from": m.sender,
                        "to": m.recipient,
                        "country": m.country,
                        "encoding": encoding_for(m.body),
                        "text": m.body,
                    }
                    for m in going
                ]
            }
            url = f"{self.base_url}/sms/v1/international/batch"
            for outcome in await self._post(url, body, going):
                outcomes[outcome.message_id] = outcome
        return [outcomes[m.id] for m in batch]
