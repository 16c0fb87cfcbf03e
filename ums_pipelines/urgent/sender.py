"""The urgent notice's own sender: a send agent of the urgent lane whose workers record
results in the background and ask for the next tokens at once.

A provider's limiter is GCRA with a burst of 2 % of the rate (``dispatch/gcra.py``): a
slot nobody asks for within that burst is gone for good. An agent worker asks, sends,
records and only then asks again; on a loaded SQLite store the recording transaction
outlasted the burst, and a notice went out at ~85 % of the provider's rate against a
prediction made at the rate. Here each worker's results go to one recorder that writes
whatever has gathered in one transaction (fewer writes on SQLite's one write lock), and
a refused ask waits for a few slots rather than for one (every ask is a write). A worker
awaits its recorder before it claims again, so nothing is left unrecorded when the
agent stops; only the lease holder records (``record_results``).
"""

from __future__ import annotations

import asyncio

from ums_pipelines.channels.providers import ProviderAdapter
from ums_pipelines.dispatch import housekeeping as hk
from ums_pipelines.dispatch.agent import Agent
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.lanes import lane_of

__all__ = ["UrgentAgent"]

# A refused ask sleeps at least this long: the next grant then has several slots, and
# the burst (20 ms at any rate from 50/s) is not missed.
_MIN_WAIT_S = 0.005
# A worker's results are written at most this often: a round is a few messages (the
# burst), and a write per round was half of all write transactions.
_RECORD_EVERY_S = 0.1


class UrgentAgent(Agent):
    async def _send(self, provider: str, adapter: ProviderAdapter, batch: list[Claimed]) -> None:
        gathered: list[SendOutcome] = []
        recorder: asyncio.Future[None] | None = None

        async def record() -> None:
            loop = asyncio.get_running_loop()
            while gathered:
                began = loop.time()
                outcomes = gathered[:]
                gathered.clear()
                await self._thread(self._record, provider, outcomes)
                # What arrives meanwhile waits for one write, not one write a round.
                await asyncio.sleep(max(0.0, began + _RECORD_EVERY_S - loop.time()))

        lane = lane_of(batch[0].priority)
        try:
            while batch:
                if not await self._thread(self.breaker.allow, provider):
                    # The provider is down: hand the rows back rather than burn attempts.
                    ids = [c.id for c in batch]
                    await self._thread(hk.release, self.store, ids, self.agent_id)
                    await asyncio.sleep(self.config.tick_s * 4)
                    return
                grant = await self._thread(self.limiter.acquire, provider, len(batch), lane)
                if grant.granted == 0:
                    await asyncio.sleep(max(grant.wait_s, _MIN_WAIT_S))
                    continue
                part, batch = batch[: grant.granted], batch[grant.granted :]
                part, batch = await self._screen(part, batch)
                if not part:
                    continue
                gathered.extend(await adapter.send(part))
                if recorder is None or recorder.done():
                    if recorder is not None:
                        recorder.result()  # a failed write fails the round (see Agent._serve)
                    recorder = asyncio.ensure_future(record())
        finally:
            if recorder is not None:
                await recorder
            await record()
