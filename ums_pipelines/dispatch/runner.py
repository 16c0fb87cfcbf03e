"""Parallel channel senders for one bulk job, run until every message of the job is terminal.

A producer claims the job's splits and writes them to the outbox already claimed; per
channel, ``adapter.concurrency`` senders take those batches (or, between them, claim
the job's queued rows: retries, fallback legs, rows of dead senders) and send them under
the provider's shared rate limit and circuit breaker. A housekeeping loop renews this
process's leases, reaps dead ones, stops what missed the send window, polls receipts,
times out legs and notices pause/cancel. Several processes may run the same job at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import polars as pl

from ums_pipelines.billing import prices_of
from ums_pipelines.channels.providers import ProviderAdapter, build_adapters, make_client
from ums_pipelines.compliance import night
from ums_pipelines.compliance.approvals import check_job
from ums_pipelines.dispatch import housekeeping as hk
from ums_pipelines.dispatch.breaker import CircuitBreaker
from ums_pipelines.dispatch.bulk import ChunkWork, claim_chunk, materialize_chunk, plan_chunks
from ums_pipelines.dispatch.claims import Claimed, any_claimable, claim_rows, reap_expired
from ums_pipelines.dispatch.compose import PROVIDERS
from ums_pipelines.dispatch.control import settle
from ums_pipelines.dispatch.ratelimit import SharedRateLimiter
from ums_pipelines.dispatch.receipts import poll_receipts
from ums_pipelines.dispatch.record import RecordStats, SendOutcome, record_results
from ums_pipelines.dispatch.results import DispatchResult
from ums_pipelines.dispatch.screens import BatchScreen
from ums_pipelines.dispatch.status_query import query_overdue
from ums_pipelines.lanes import CHANNELS, TERMINAL_STATES, lane_of
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, utcnow
from ums_pipelines.targets import read_targets

__all__ = ["DispatchResult", "Dispatcher", "build_adapters", "job_state_counts"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]
_MAX_IDLE_S = 1.0  # longest wait between two sweeps of a sender with nothing to send
job_state_counts = hk.job_state_counts


class Dispatcher:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        owner: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        limiter: SharedRateLimiter | None = None,
        breaker: CircuitBreaker | None = None,
        tick: float = 0.25,
        client_timeout: float = 30.0,
        status_grace: timedelta = timedelta(seconds=30),
    ) -> None:
        self.store = store
        self.settings = settings
        self.owner = owner or f"dispatch-{uuid.uuid4().hex[:12]}"
        self.lease = lease
        self.limiter = limiter or SharedRateLimiter(store)
        self.breaker = breaker or CircuitBreaker(store)
        self.tick = tick
        # A request hanging longer is retried under the same keys (the provider dedups).
        self.client_timeout = client_timeout
        # Accepted this long without a final receipt: ask the provider's status endpoint.
        self.status_grace = status_grace
        self._stop = asyncio.Event()
        self._sent: Counter[str] = Counter()
        self._stats = RecordStats()
        self._pace_key: str | None = None
        self._leg_timeout: timedelta | None = None
        self._screen = BatchScreen(store, self.owner, asyncio.to_thread, lease=lease)

    # -- the hot path -------------------------------------------------------------------

    async def _produce(
        self, job_id: str, queues: dict[str, asyncio.Queue[list[Claimed]]], sizes: dict[str, int]
    ) -> None:
        frame: pl.DataFrame = await asyncio.to_thread(read_targets, self.settings, job_id)
        while not self._stop.is_set():
            chunk = await asyncio.to_thread(self._claim_chunk, job_id)
            if chunk is None:
                if await asyncio.to_thread(hk.chunks_left, self.store, job_id) == 0:
                    return
                # Another sender holds a split; if it dies, its lease ends and we take it.
                await asyncio.sleep(self.tick)
                continue
            claimed = await asyncio.to_thread(
                materialize_chunk,
                self.store,
                self.settings,
                job_id,
                chunk,
                self.owner,
                self.lease,
                frame,
            )
            by_channel: dict[str, list[Claimed]] = {}
            for c in claimed:
                by_channel.setdefault(c.channel, []).append(c)
            for channel, rows in by_channel.items():
                size = sizes[channel]
                for start in range(0, len(rows), size):
                    await queues[channel].put(rows[start : start + size])

    def _claim_chunk(self, job_id: str) -> ChunkWork | None:
        with self.store.session() as session:
            return claim_chunk(session, job_id, self.owner, self.lease, utcnow())

    async def _sender(
        self,
        channel: str,
        adapter: ProviderAdapter,
        job_id: str,
        queue: asyncio.Queue[list[Claimed]],
        progress: Progress | None,
    ) -> None:
        provider = PROVIDERS[channel]
        idle = self.tick
        while not self._stop.is_set():
            try:
                batch = queue.get_nowait()
            except asyncio.QueueEmpty:
                batch = await asyncio.to_thread(self._sweep, channel, adapter.batch_size, job_id)
                if not batch:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
                    # cancel that lands as the queue hands over a batch, and a cancelled
                    # dispatcher's sender then looped on (a test hung in asyncio.run).
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(idle):
                            batch = await queue.get()
            if not batch:
                # A sweep is a write transaction: idle channels' senders back off the writer lock.
                idle = min(idle * 2, max(self.tick, _MAX_IDLE_S))
                continue
            idle = self.tick
            try:
                await self._send(provider, adapter, batch)
            except Exception:
                # A sender that died here left its batch claimed (its lease renewed by
                # this process's heartbeat) and the producer blocked on a full queue: on
                # PostgreSQL a fault-test push leg stalled until its deadline that way.
                # The round fails alone: its rows go back to the queue at once.
                log.exception("dispatcher %s: %s send round failed", self.owner, channel)
                with contextlib.suppress(Exception):
                    ids = [c.id for c in batch]
                    await asyncio.to_thread(hk.release, self.store, ids, self.owner)
                await asyncio.sleep(max(self.tick, 0.5))
                continue
            if progress:
                progress(channel, len(batch))

    def _sweep(self, channel: str, limit: int, job_id: str) -> list[Claimed]:
        with self.store.reading() as session:
            if not any_claimable(session, channel, utcnow(), job_id):
                return []
        with self.store.session() as session:
            return claim_rows(
                session, channel, self.owner, limit, self.lease, utcnow(), job_id=job_id
            )

    async def _send(self, provider: str, adapter: ProviderAdapter, batch: list[Claimed]) -> None:
        while batch:
            if not await asyncio.to_thread(self.breaker.allow, provider):
                # The provider is down: hand the rows back rather than burn attempts.
                await asyncio.to_thread(hk.release, self.store, [c.id for c in batch], self.owner)
                await asyncio.sleep(self.tick * 4)
                return
            lane = lane_of(batch[0].priority)
            granted, wait_s = await asyncio.to_thread(self._grant, provider, len(batch), lane)
            if granted == 0:
                await asyncio.sleep(max(wait_s, 0.001))
                continue
            part, batch = batch[:granted], batch[granted:]
            part, batch = await self._screen(part, batch)
            if not part:
                continue
            outcomes = await adapter.send(part)
            await asyncio.to_thread(self._record, provider, outcomes, part)

    def _grant(self, provider: str, n: int, lane: int | None = None) -> tuple[int, float]:
        """Tokens of the job's own pace first, then of the provider's shared limit (for
        ``lane``: an urgent notice's reservation makes lower lanes wait)."""
        if self._pace_key is not None:
            paced = self.limiter.acquire(self._pace_key, n)
            if paced.granted == 0:
                return 0, paced.wait_s
            n = paced.granted
        grant = self.limiter.acquire(provider, n, lane)
        return grant.granted, grant.wait_s

    def _record(
        self, provider: str, outcomes: list[SendOutcome], sent: list[Claimed] | None = None
    ) -> None:
        busy = [o.retry_after for o in outcomes if o.code in ("HTTP-429",)]
        if busy:
            self.limiter.penalize(provider, max((r or 0.0) for r in busy))
        # Only a provider that did not answer counts against its circuit; a 429 is an
        # answer (the limiter slows down) and so is a per-message refusal.
        down = bool(outcomes) and all(
            o.status == "retry" and (o.code == "E-TRANSPORT" or (o.code or "").startswith("HTTP-5"))
            for o in outcomes
        )
        self.breaker.record(provider, not down)
        prices = prices_of(self.settings, provider, sent or [])
        # A deadlock victim on PostgreSQL is recorded again, not dropped: a sender that
        # died of one left its batch claimed and the job stalled (the fault test's flake).
        stats = self.store.retrying(
            lambda session: record_results(
                session,
                self.settings,
                self.owner,
                outcomes,
                utcnow(),
                leg_timeout=self._leg_timeout,
                prices=prices,
            )
        )
        # Per channel, not per provider: AlimTalk, FriendTalk and brand share Kakao's.
        self._sent[sent[0].channel if sent else provider] += stats.accepted
        self._stats.lost_lease += stats.lost_lease
        for code, n in stats.retry_codes.items():
            self._stats.retry_codes[code] = self._stats.retry_codes.get(code, 0) + n

    # -- orchestration ------------------------------------------------------------------

    async def run_job(
        self,
        job_id: str,
        deadline_seconds: float = 3600.0,
        progress: Progress | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> DispatchResult:
        started = time.monotonic()
        # Four-eyes first: a job awaiting its department head's approval sends nothing.
        await asyncio.to_thread(check_job, self.store, self.settings, job_id)
        self._stop = asyncio.Event()
        result = DispatchResult(job_id)
        await asyncio.to_thread(plan_chunks, self.store, job_id)
        await asyncio.to_thread(hk.start, self.store, job_id)
        self._leg_timeout = await asyncio.to_thread(hk.leg_timeout, self.store, job_id)
        self._screen.night = await asyncio.to_thread(
            night.screen_for_job, self.store, self.settings, job_id, self.owner
        )
        self._pace_key = await asyncio.to_thread(
            hk.configure_pace, self.store, self.limiter, job_id
        )
        status = await asyncio.to_thread(hk.job_status, self.store, job_id)
        own_client = client is None
        http = client or make_client(timeout=self.client_timeout)
        children: list[asyncio.Task[None]] = []
        try:
            if status in ("paused", "cancelled", "stopped"):
                # Nothing to send; rows handed back since are parked (held/cancelled).
                result.status = status
                await asyncio.to_thread(self._sweep_job, job_id)  # dead senders' rows too
                await asyncio.to_thread(settle, self.store, job_id)
                return self._finish(result, job_id, started)
            adapters = build_adapters(http, self.settings)
            queues = {c: asyncio.Queue[list[Claimed]](maxsize=2) for c in CHANNELS}
            sizes = {c: adapters[c].batch_size for c in CHANNELS}
            tasks = [asyncio.create_task(self._produce(job_id, queues, sizes))]
            tasks += [
                asyncio.create_task(self._sender(c, adapters[c], job_id, queues[c], progress))
                for c in CHANNELS
                for _ in range(adapters[c].concurrency)
            ]
            self._screen.renewed = time.monotonic()
            heartbeat = asyncio.create_task(self._heartbeat())
            children = [*tasks, heartbeat]
            result.status = await self._housekeep(
                job_id, http, result, tasks[0], started, deadline_seconds
            )
            self._stop.set()
            heartbeat.cancel()
            tasks[0].cancel()
            # Sends in flight finish and are recorded (a pause must not cut them off).
            _, pending = await asyncio.wait(tasks, timeout=5.0)
            for t in pending:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # Rows still held in memory go back to the queue for whoever runs next.
            await asyncio.to_thread(hk.release_owner, self.store, self.owner)
            # Paused or cancelled meanwhile: what was just handed back is held/cancelled.
            await asyncio.to_thread(settle, self.store, job_id)
        finally:
            # Cancelled from outside (Ctrl-C, a caller's cancel): the producer, senders and
            # heartbeat stop here, before the client they send with is closed; left
            # running, they kept asyncio.run from returning (a CI run hung on it).
            left = [t for t in children if not t.done()]
            if left:
                self._stop.set()
                for t in left:
                    t.cancel()
                await asyncio.gather(*left, return_exceptions=True)
            if own_client:
                await http.aclose()
        return self._finish(result, job_id, started)

    def _finish(self, result: DispatchResult, job_id: str, started: float) -> DispatchResult:
        result.states = job_state_counts(self.store, job_id)
        result.held = night.held_count(self.store, job_id)
        result.terminal = result.status == "done"
        result.submitted = {c: self._sent[c] for c in CHANNELS if self._sent[c]}
        result.lost_leases = self._stats.lost_lease
        result.retries = dict(self._stats.retry_codes)
        result.seconds = time.monotonic() - started
        return result

    async def _heartbeat(self) -> None:
        """Lease renewal on its own thread and timer: when it waited behind receipt polls
        in the housekeeping loop and behind 13 senders in the default executor, live
        leases of 2 s ran out and other dispatchers re-sent the rows (4 x 100k on
        PostgreSQL: 45,500 duplicate attempts, all ignored by the provider's key)."""
        pool = ThreadPoolExecutor(1, thread_name_prefix=f"renew-{self.owner}")
        loop = asyncio.get_running_loop()
        try:
            while True:
                await asyncio.sleep(self.lease.total_seconds() / 3)
                began = time.monotonic()
                await loop.run_in_executor(pool, hk.renew, self.store, self.owner, self.lease)
                self._screen.renewed = began
        finally:
            pool.shutdown(wait=False)

    async def _housekeep(
        self,
        job_id: str,
        client: httpx.AsyncClient,
        result: DispatchResult,
        producer: asyncio.Task[None],
        started: float,
        deadline_seconds: float,
    ) -> str:
        asked = time.monotonic()
        while True:
            result.rounds += 1
            if producer.done() and producer.exception() is not None:
                raise producer.exception()  # type: ignore[misc]
            await asyncio.to_thread(self._sweep_job, job_id)
            try:
                await poll_receipts(self.store, self.settings, client)
                if time.monotonic() - asked > max(self.status_grace.total_seconds() / 2, 0.5):
                    await query_overdue(
                        self.store, self.settings, client, job_id, self.status_grace
                    )
                    asked = time.monotonic()
            except httpx.HTTPError:
                pass  # the provider's read side is unreachable or busy: next round
            status = await asyncio.to_thread(hk.job_status, self.store, job_id)
            if status in ("paused", "cancelled", "stopped"):
                return status
            if producer.done():
                states = await asyncio.to_thread(job_state_counts, self.store, job_id)
                left = await asyncio.to_thread(hk.chunks_left, self.store, job_id)
                if left == 0 and all(s in TERMINAL_STATES for s in states):
                    await asyncio.to_thread(hk.finish, self.store, job_id, states)
                    return "done"
                if left == 0 and set(states) <= TERMINAL_STATES | {"queued"}:
                    # All that is left waits past this run (held for the night): return
                    # now, the job unfinished, rather than idle until the deadline.
                    rest = max(deadline_seconds - (time.monotonic() - started), 0.0)
                    now = utcnow()
                    horizon = now + timedelta(seconds=rest)
                    if await asyncio.to_thread(night.parked, self.store, job_id, now, horizon):
                        return "held"
            if time.monotonic() - started > deadline_seconds:
                return "deadline"
            await asyncio.sleep(self.tick)

    def _sweep_job(self, job_id: str) -> None:
        now = utcnow()
        with self.store.session() as session:
            reap_expired(session, now, job_id)
            hk.stop_overdue(session, self.settings, job_id, now)
            if self._leg_timeout is not None:
                # Without a leg timeout no row has a deadline; the query would still walk
                # every accepted row of the job (a million in a big job) on each tick.
                hk.time_out_legs(session, self.settings, job_id, now)
