"""The send agent: a long-running sender serving the outbox of every job within its lanes.

Per channel, express workers claim only urgent, authentication and transactional rows
(small claims, short idle polls), so a real-time message never waits behind a bulk
batch; bulk lanes, when the agent serves them too, have workers of their own. All send
under the provider's shared rate limiter and circuit breaker. One housekeeping loop
heartbeats and renews this agent's leases every lease/3, declares silent agents dead,
reaps expired leases (a dead agent's rows are sent by the survivors within its lease),
stops what missed its window, polls receipts (failures start the next leg) and reads
the request drop folder. Several agents run active-active on the same store.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

import httpx
from sqlalchemy import or_, select

from ums_pipelines.channels.providers import ProviderAdapter, build_adapters, make_client
from ums_pipelines.compliance.night import NightScreen
from ums_pipelines.dispatch import agents as registry
from ums_pipelines.dispatch import housekeeping as hk
from ums_pipelines.dispatch.breaker import CircuitBreaker
from ums_pipelines.dispatch.claims import Claimed, T, claim_where, expire_overdue, reap_expired
from ums_pipelines.dispatch.compose import PROVIDERS
from ums_pipelines.dispatch.ratelimit import SharedRateLimiter
from ums_pipelines.dispatch.receipts import poll_receipts
from ums_pipelines.dispatch.record import SendOutcome, record_results
from ums_pipelines.dispatch.requestfiles import sync_request_files
from ums_pipelines.dispatch.screens import BatchScreen
from ums_pipelines.dispatch.status_query import query_overdue
from ums_pipelines.lanes import CHANNELS, Lane, lane_of
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, urgent, utcnow
from ums_pipelines.store.models import Job

__all__ = ["EXPRESS_LANES", "Agent", "AgentConfig", "start_agent"]

log = logging.getLogger(__name__)

_R = TypeVar("_R")

EXPRESS_LANES = (Lane.URGENT, Lane.AUTH, Lane.TRANSACTIONAL)
# Rows of these jobs wait: a paused or stopped bulk job is not sent behind its back.
_HELD_JOBS = ("paused", "cancelled", "stopped")


@dataclass(frozen=True)
class AgentConfig:
    lanes: tuple[Lane, ...] = EXPRESS_LANES
    channels: tuple[str, ...] = CHANNELS
    lease_seconds: int = 30
    express_workers: int = 2  # per channel
    express_batch: int = 100  # small claims: a claimed row is sent within one round trip
    bulk_workers: int = 1  # per channel, only when the agent serves bulk lanes
    poll_s: float = 0.05  # idle express poll: bounds a real-time message's wait to start
    tick_s: float = 0.25  # housekeeping
    receipts_every_s: float = 1.0
    inbox_every_s: float = 1.0  # 0 turns the drop folder off
    # Accepted rows with no final receipt this long are asked for (lost receipts, and
    # rows left E-UNCONFIRMED when their retries ran out).
    status_grace_s: float = 30.0
    stop_grace_s: float = 10.0  # on stop, for the sends in flight

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)


class Agent:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        config: AgentConfig | None = None,
        agent_id: str | None = None,
        limiter: SharedRateLimiter | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.config = config or AgentConfig()
        self.agent_id = agent_id or registry.new_agent_id()
        self.limiter = limiter or SharedRateLimiter(store)
        self.breaker = breaker or CircuitBreaker(store)
        self.sent = 0
        self.started = asyncio.Event()
        self._stop = asyncio.Event()
        self._pool: ThreadPoolExecutor | None = None
        # The advertising night rule on every job's rows (by day: a time comparison).
        night = NightScreen(store, settings, self.agent_id)
        self._screen = BatchScreen(store, self.agent_id, self._thread, night=night)

    async def _thread(self, fn: Callable[..., _R], *args: Any) -> _R:
        """Store work on the agent's own threads: in a process that also takes requests
        (callers on the default executor), real-time claims queued behind them for
        seconds. Context variables go along, as with ``asyncio.to_thread``."""
        if self._pool is None:
            return await asyncio.to_thread(fn, *args)
        ctx = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, partial(ctx.run, fn, *args)
        )

    def stop(self) -> None:
        """Ask the agent to finish: claims are released and it is marked stopped."""
        self._stop.set()

    # -- claims and sends -------------------------------------------------------------

    def _claim(self, channel: str, lanes: tuple[Lane, ...], limit: int) -> list[Claimed]:
        now = utcnow()
        held = select(Job.job_id).where(Job.status.in_(_HELD_JOBS))
        ids = (
            select(T.id)
            .where(
                T.state == "queued",
                T.channel == channel,
                or_(*(T.priority.between(int(lane) * 10, int(lane) * 10 + 9) for lane in lanes)),
                or_(T.not_before.is_(None), T.not_before <= now),
                or_(T.expires_at.is_(None), T.expires_at > now),
                T.job_id.not_in(held),
            )
            .order_by(T.priority, T.id)
            .limit(limit)
        )
        # Look before taking the write lock: idle express workers poll 20 times a second
        # per channel, and on SQLite every claim queues behind a bulk job's writes.
        with self.store.reading() as session:
            if session.scalar(ids.with_only_columns(T.id).limit(1)) is None:
                return []
        with self.store.session() as session:
            return claim_where(session, ids, self.agent_id, self.config.lease, now)

    async def _worker(
        self, channel: str, adapter: ProviderAdapter, lanes: tuple[Lane, ...], size: int
    ) -> None:
        provider = PROVIDERS[channel]
        idle = self.config.poll_s
        if any(lane in EXPRESS_LANES for lane in lanes):
            # This task's writes (claims, results, rate tokens) go before bulk writers'.
            with urgent():
                await self._serve(channel, adapter, lanes, size, provider, idle)
        else:
            await self._serve(channel, adapter, lanes, size, provider, idle)

    async def _serve(
        self,
        channel: str,
        adapter: ProviderAdapter,
        lanes: tuple[Lane, ...],
        size: int,
        provider: str,
        idle: float,
    ) -> None:
        while not self._stop.is_set():
            batch: list[Claimed] = []
            try:
                batch = await self._thread(self._claim, channel, lanes, size)
                if batch:
                    await self._send(provider, adapter, batch)
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                # One failed round must not end a long-running agent; what it held goes
                # back to the queue at once instead of waiting for its lease.
                log.exception("agent %s: %s sender round failed", self.agent_id, channel)
                with contextlib.suppress(Exception):
                    await self._thread(hk.release, self.store, [c.id for c in batch], self.agent_id)
                idle = max(idle, 1.0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(idle):  # not wait_for: see runner._sender
                    await self._stop.wait()
            idle = self.config.poll_s

    async def _send(self, provider: str, adapter: ProviderAdapter, batch: list[Claimed]) -> None:
        while batch:
            if not await self._thread(self.breaker.allow, provider):
                # The provider is down: hand the rows back rather than burn attempts.
                await self._thread(hk.release, self.store, [c.id for c in batch], self.agent_id)
                await asyncio.sleep(self.config.tick_s * 4)
                return
            # The lane of the batch's first row (claims are ordered by priority).
            lane = lane_of(batch[0].priority)
            grant = await self._thread(self.limiter.acquire, provider, len(batch), lane)
            if grant.granted == 0:
                await asyncio.sleep(max(grant.wait_s, 0.001))
                continue
            part, batch = batch[: grant.granted], batch[grant.granted :]
            part, batch = await self._screen(part, batch)
            if not part:
                continue
            outcomes = await adapter.send(part)
            await self._thread(self._record, provider, outcomes)

    def _record(self, provider: str, outcomes: list[SendOutcome]) -> None:
        busy = [o.retry_after for o in outcomes if o.code == "HTTP-429"]
        if busy:
            self.limiter.penalize(provider, max((r or 0.0) for r in busy))
        transport = bool(outcomes) and all(o.status == "retry" for o in outcomes)
        self.breaker.record(provider, not transport)
        stats = self.store.retrying(
            lambda session: record_results(
                session, self.settings, self.agent_id, outcomes, utcnow()
            )
        )
        self.sent += stats.accepted

    # -- housekeeping -------------------------------------------------------------------

    def _sweep(self) -> None:
        now = utcnow()
        dead = registry.mark_dead(self.store, now)
        if dead:
            log.warning("agent %s: declared dead: %s", self.agent_id, ", ".join(dead))
        with self.store.session() as session:
            reap_expired(session, now)
            expire_overdue(session, now)

    def _beat(self) -> None:
        registry.heartbeat(self.store, self.agent_id, self.sent)
        hk.renew(self.store, self.agent_id, self.config.lease)

    def _inbox(self) -> None:
        sync_request_files(self.store, self.settings)

    async def _every(self, name: str, period: float, step: Callable[[], Awaitable[object]]) -> None:
        """Run ``step`` every ``period`` seconds until stopped.

        Each duty has its own loop: a slow receipt poll must delay neither the
        heartbeat (the others would declare this agent dead) nor the reaping of a dead
        agent's rows (the take-over time).
        """
        while not self._stop.is_set():
            try:
                await step()
            except Exception:
                # e.g. the gateway down for receipts: try again next round.
                log.exception("agent %s: %s failed", self.agent_id, name)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(period):
                    await self._stop.wait()

    def _duties(self, client: httpx.AsyncClient) -> list[Coroutine[None, None, None]]:
        cfg = self.config
        duties = [
            self._every("heartbeat", cfg.lease_seconds / 3, lambda: self._thread(self._beat)),
            self._every("sweep", cfg.tick_s, lambda: self._thread(self._sweep)),
            self._every(
                "receipts",
                cfg.receipts_every_s,
                partial(poll_receipts, self.store, self.settings, client),
            ),
            self._every(
                "status queries",
                max(cfg.status_grace_s / 2, 0.5),
                partial(
                    query_overdue,
                    self.store,
                    self.settings,
                    client,
                    grace=timedelta(seconds=cfg.status_grace_s),
                ),
            ),
        ]
        if cfg.inbox_every_s > 0:
            duties.append(
                self._every("inbox", cfg.inbox_every_s, lambda: self._thread(self._inbox))
            )
        return duties

    # -- lifetime -----------------------------------------------------------------------

    async def run(self, client: httpx.AsyncClient | None = None) -> None:
        """Serve until :meth:`stop`; then release every claim and mark the agent stopped."""
        cfg = self.config
        express = tuple(lane for lane in cfg.lanes if lane in EXPRESS_LANES)
        bulk = tuple(lane for lane in cfg.lanes if lane not in EXPRESS_LANES)
        providers = sorted({PROVIDERS[c] for c in cfg.channels})
        await self._thread(
            registry.register_agent,
            self.store,
            self.agent_id,
            [int(lane) for lane in cfg.lanes],
            providers,
            cfg.lease_seconds,
        )
        workers = cfg.express_workers * bool(express) + cfg.bulk_workers * bool(bulk)
        self._pool = ThreadPoolExecutor(
            len(cfg.channels) * workers + 6, thread_name_prefix=f"agent-{self.agent_id}"
        )
        http = client or make_client()
        tasks: list[asyncio.Task[None]] = []
        try:
            adapters = build_adapters(http, self.settings)
            for channel in cfg.channels:
                adapter = adapters[channel]
                size = min(adapter.batch_size, cfg.express_batch)
                if express:
                    tasks += [
                        asyncio.create_task(self._worker(channel, adapter, express, size))
                        for _ in range(cfg.express_workers)
                    ]
                if bulk:
                    tasks += [
                        asyncio.create_task(
                            self._worker(channel, adapter, bulk, adapter.batch_size)
                        )
                        for _ in range(cfg.bulk_workers)
                    ]
            tasks += [asyncio.create_task(duty) for duty in self._duties(http)]
            self.started.set()
            await self._stop.wait()
        finally:
            self._stop.set()
            # Loops finish the round they are in (a claimed batch is sent and recorded);
            # only what outlasts the grace is cancelled. A cancelled thread may still
            # finish its statement: its rows are then reaped when their lease ends.
            if tasks:
                _, late = await asyncio.wait(tasks, timeout=cfg.stop_grace_s)
                for task in late:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            # Rows claimed but not sent go back to the queue for the other agents now,
            # not after the lease.
            await self._thread(hk.release_owner, self.store, self.agent_id)
            await self._thread(registry.mark_stopped, self.store, self.agent_id, self.sent)
            if client is None:
                await http.aclose()
            pool, self._pool = self._pool, None
            pool.shutdown(wait=False)


def start_agent(
    store: Store,
    settings: Settings,
    config: AgentConfig | None = None,
    client: httpx.AsyncClient | None = None,
) -> tuple[Agent, asyncio.Task[None]]:
    """An in-process agent task (benchmarks, tests): ``agent.stop(); await task`` ends it."""
    agent = Agent(store, settings, config)
    return agent, asyncio.create_task(agent.run(client))
