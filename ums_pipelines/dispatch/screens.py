"""The checks a batch passes between its rate-limit tokens and the wire, shared by the
bulk dispatcher and the send agents.

1. the advertising night rule (``compliance/night.NightScreen``): rows claimed before a
   ban began are handed back held, the rest of the batch checked too (a held row must
   not use a token);
2. the last mile of suppression (``dispatch/lastmile.StopScreen``): a withdrawal,
   opt-out or death since the rows were claimed cancels them;
3. the lease fence (the dispatcher's, when its heartbeat is late): only rows still
   leased to this sender go out, their leases extended — a stalled loop's lapsed rows
   may have been reaped and sent by another dispatcher.

Each step is a time comparison unless it is due; each runs its store work off the
event loop through ``run`` (``asyncio.to_thread``, or an agent's own pool).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ums_pipelines.compliance.night import NightScreen
from ums_pipelines.dispatch import housekeeping as hk
from ums_pipelines.dispatch import lastmile
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.store.engine import Store, utcnow

__all__ = ["BatchScreen"]

Batch = list[Claimed]


@dataclass
class BatchScreen:
    store: Store
    owner: str
    run: Callable[..., Awaitable[Any]]
    night: NightScreen | None = None
    # Set by a sender whose heartbeat records ``renewed``; None: no fence.
    lease: timedelta | None = None
    renewed: float = field(default_factory=time.monotonic)  # when a renewal last began
    stops: lastmile.StopScreen = field(init=False)

    def __post_init__(self) -> None:
        self.stops = lastmile.StopScreen(self.store, self.owner)

    async def __call__(self, part: Batch, batch: Batch) -> tuple[Batch, Batch]:
        """``part`` (what has tokens) and the rest of ``batch`` as they may go now; an
        empty part means: ask for tokens again for what is left."""
        granted = len(part)
        if self.night is not None and self.night.due(utcnow()):
            allowed = await self.run(self.night, part + batch)
            part, batch = allowed[:granted], allowed[granted:]
        if part and self.stops.stale():
            await self.run(self.stops.poll)
        if part and self.stops.due(utcnow()):
            allowed = await self.run(self.stops, part + batch)
            part, batch = allowed[:granted], allowed[granted:]
        if part and self.lease is not None and self._late():
            ours = await self.run(
                hk.confirm, self.store, [c.id for c in part], self.owner, self.lease
            )
            part = [c for c in part if c.id in ours]
        return part, batch

    def _late(self) -> bool:
        assert self.lease is not None
        return time.monotonic() - self.renewed > self.lease.total_seconds() / 2
