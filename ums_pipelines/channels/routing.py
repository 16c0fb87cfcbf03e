"""One channel, several providers: rows go to the adapter of their message type.

A channel's sender claims its rows together; push rows are FCM or APNs by the
customer's platform and SMS rows domestic or international, each provider with its
own wire format, so the batch is split by ``message_type`` and the answers merged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Protocol

from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome

__all__ = ["TypeRouter"]


class _Adapter(Protocol):
    batch_size: int
    concurrency: int

    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]: ...


class TypeRouter:
    def __init__(self, default: _Adapter, by_type: Mapping[str, _Adapter]) -> None:
        self.default = default
        self.by_type = dict(by_type)
        self.batch_size = default.batch_size
        self.concurrency = default.concurrency

    async def send(self, batch: Sequence[Claimed]) -> list[SendOutcome]:
        groups: dict[int, tuple[_Adapter, list[Claimed]]] = {}
        for m in batch:
            adapter = self.by_type.get(m.message_type, self.default)
            groups.setdefault(id(adapter), (adapter, []))[1].append(m)
        answers = await asyncio.gather(*(a.send(rows) for a, rows in groups.values()))
        by_id = {o.message_id: o for outcomes in answers for o in outcomes}
        return [by_id[m.id] for m in batch]
