"""The urgent notice's own sender: a send agent of the urgent lane whose workers share one
asker of each provider's tokens and record results in the background.

A provider's limiter is GCRA with a burst of 2 % of the rate (``dispatch/gcra.py``): a
slot nobody asks for within that burst (20 ms at any rate from 50/s) is gone for good,
and every ask is a write transaction. Agent workers each ask, send, record and ask
again: on a loaded SQLite store the recording alone outlasted the burst, and workers
asking on their own took a few tokens a time (100,000 messages at 1,000/s took 25,000
asks, each one a transaction and an HTTP request), so a notice went out at ~85 % of the
rate its prediction assumes. Here one pump per provider asks for what the waiting
workers need every ``_ASK_EVERY_S`` (inside the burst) and hands the grant out at once,
to be sent at once (grants are never banked: ``dispatch/ratelimit.py``); each worker's
results go to one recorder writing at most every ``_RECORD_EVERY_S``. A worker awaits
its recorder before it claims again, so nothing is left unrecorded when the agent stops.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from ums_pipelines.channels.providers import ProviderAdapter
from ums_pipelines.dispatch import housekeeping as hk
from ums_pipelines.dispatch.agent import Agent
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.lanes import Lane

__all__ = ["UrgentAgent"]

# The pump's period, from one ask to the next: half the 20-ms burst, leaving the other
# half for a late wake-up or a wait for the store's lock.
_ASK_EVERY_S = 0.010
# A worker's results are written at most this often: a round is a few messages (the
# burst), and a write per round was half of all write transactions.
_RECORD_EVERY_S = 0.1


class _Pump:
    """The one asker of a provider's tokens for every worker of the agent."""

    def __init__(self, agent: UrgentAgent, provider: str) -> None:
        self.agent, self.provider = agent, provider
        self.waiting: list[tuple[int, asyncio.Future[int]]] = []
        self.wake = asyncio.Event()
        self.task = asyncio.ensure_future(self._run())

    async def take(self, n: int) -> int:
        """Wait for tokens for up to ``n`` messages; send what is returned at once."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.waiting.append((n, future))
        self.wake.set()
        return await future

    async def _run(self) -> None:
        agent = self.agent
        while True:
            self.waiting = [(n, f) for n, f in self.waiting if not f.done()]
            if not self.waiting:
                self.wake.clear()
                await self.wake.wait()
                continue
            demand = sum(n for n, _ in self.waiting)
            began = asyncio.get_running_loop().time()
            grant = await agent._thread(agent.limiter.acquire, self.provider, demand, Lane.URGENT)
            left = grant.granted
            while left and self.waiting:
                n, future = self.waiting.pop(0)
                if not future.done():
                    given = min(n, left)
                    left -= given
                    future.set_result(given)
            if grant.granted:  # the period counts from the ask: it may wait for the lock
                pause = began + _ASK_EVERY_S - asyncio.get_running_loop().time()
            else:
                pause = max(grant.wait_s, 0.002)
            await asyncio.sleep(max(pause, 0.0))


class UrgentAgent(Agent):
    _pumps: dict[str, _Pump]

    def _pump(self, provider: str) -> _Pump:
        if not hasattr(self, "_pumps"):
            self._pumps = {}
        if provider not in self._pumps:
            self._pumps[provider] = _Pump(self, provider)
        return self._pumps[provider]

    async def run(self, client: httpx.AsyncClient | None = None) -> None:
        try:
            await super().run(client)
        finally:
            for pump in getattr(self, "_pumps", {}).values():
                pump.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump.task

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

        pump = self._pump(provider)
        try:
            while batch:
                if not await self._thread(self.breaker.allow, provider):
                    # The provider is down: hand the rows back rather than burn attempts.
                    ids = [c.id for c in batch]
                    await self._thread(hk.release, self.store, ids, self.agent_id)
                    await asyncio.sleep(self.config.tick_s * 4)
                    return
                granted = await pump.take(len(batch))
                part, batch = batch[:granted], batch[granted:]
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
