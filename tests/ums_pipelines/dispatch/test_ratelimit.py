"""The shared rate limiter: the 1-second sliding-window bound, penalties, hour caps."""

from __future__ import annotations

import asyncio
import bisect
import multiprocessing
import random
import time
from collections.abc import Sequence

import pytest

from ums_pipelines.dispatch.gcra import BucketState, decide
from ums_pipelines.dispatch.ratelimit import (
    Grant,
    ProviderLimit,
    SharedRateLimiter,
    burst_cells,
    emission_ns,
)
from ums_pipelines.store import Store

NS = 1_000_000_000


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.ns = int(start * NS)

    def __call__(self) -> float:
        return self.ns / NS

    def advance(self, seconds: float) -> None:
        self.ns += round(seconds * NS)


def max_in_window(events: Sequence[tuple[float, int]], width: float, closed: bool) -> int:
    """Largest total granted in any window [t, t+width) (or [t, t+width] when closed).

    A window's count only grows when its start moves onto a grant, so windows starting
    at grant times cover every case.
    """
    events = sorted(events)
    times = [t for t, _ in events]
    prefix = [0]
    for _, k in events:
        prefix.append(prefix[-1] + k)
    best = 0
    for i, t in enumerate(times):
        find = bisect.bisect_right if closed else bisect.bisect_left
        j = find(times, t + width)
        best = max(best, prefix[j] - prefix[i])
    return best


def test_sliding_window_bound_is_exact_with_a_fake_clock(store: Store) -> None:
    clock = FakeClock()
    a = SharedRateLimiter(store, clock)
    b = SharedRateLimiter(store, clock)  # a second sender on the same bucket
    rate = 200
    a.configure([ProviderLimit("sms", rate)])
    rng = random.Random(7)
    events: list[tuple[float, int]] = []
    end = clock() + 4.0
    while clock() < end:
        limiter = a if rng.random() < 0.5 else b
        grant = limiter.acquire("sms", rng.randint(1, 12))
        if grant.granted:
            events.append((clock(), grant.granted))
        # Callers wake early, late and exactly on the hint, to hunt for a burst.
        clock.advance(rng.choice([0.0, 0.0001, grant.wait_s, rng.uniform(0, 0.03)]))
    total = sum(k for _, k in events)
    burst = burst_cells(rate)
    assert burst == 4
    assert max_in_window(events, 1.0, closed=False) <= rate + burst
    assert max_in_window(events, 1.0, closed=True) <= rate + burst + 1 <= rate * 1.05
    # ... and it does not starve: even with callers up to 30 ms late, ~the full rate.
    assert total >= 4 * rate * 0.9


def test_low_rates_get_no_burst_at_all(store: Store) -> None:
    clock = FakeClock()
    limiter = SharedRateLimiter(store, clock)
    limiter.configure([ProviderLimit("kakao", 10)])
    events: list[tuple[float, int]] = []
    for _ in range(400):
        grant = limiter.acquire("kakao", 5)
        if grant.granted:
            events.append((clock(), grant.granted))
        clock.advance(0.013)
    assert max_in_window(events, 1.0, closed=False) <= 10


def test_partial_grant_then_wait_hint(store: Store) -> None:
    clock = FakeClock()
    limiter = SharedRateLimiter(store, clock)
    limiter.configure([ProviderLimit("sms", 1000)])
    first = limiter.acquire("sms", 100)
    assert first.granted == burst_cells(1000) + 1 == 21
    empty = limiter.acquire("sms", 100)
    assert (empty.granted, empty.at) == (0, clock())
    assert empty.wait_s == pytest.approx(0.001, abs=1e-5)
    clock.advance(empty.wait_s)
    assert limiter.acquire("sms", 100).granted == 1


def test_unlimited_provider_is_granted_without_a_row(store: Store) -> None:
    limiter = SharedRateLimiter(store, FakeClock())
    assert limiter.acquire("push", 5000) == Grant(5000, 0.0)
    limiter.configure([ProviderLimit("push", 50)])
    assert limiter.acquire("push", 5000).granted == 2
    limiter.remove("push")
    assert limiter.acquire("push", 7).granted == 7


def test_penalize_pauses_everyone_then_halves_and_recovers(store: Store) -> None:
    clock = FakeClock()
    a = SharedRateLimiter(store, clock, recovery_per_s=0.1)
    b = SharedRateLimiter(store, clock, recovery_per_s=0.1)
    a.configure([ProviderLimit("sms", 100)])
    a.penalize("sms", retry_after_s=2.0)
    b.penalize("sms", retry_after_s=1.0)  # the same 429 burst seen by another sender
    grant = b.acquire("sms", 10)
    assert grant.granted == 0 and grant.wait_s == pytest.approx(2.0, abs=1e-5)
    assert a.effective_rate("sms") == pytest.approx(50.0)  # one cut, not two
    clock.advance(2.0)

    def granted_in(seconds: float) -> int:
        total = 0
        for _ in range(round(seconds * 1000)):
            total += a.acquire("sms", 10).granted
            clock.advance(0.001)
        return total

    # 50/s climbing to 60/s: 55 on average, plus the burst of 2 at the start.
    assert 50 <= granted_in(1.0) <= 58
    clock.advance(3.0)
    assert a.effective_rate("sms") == pytest.approx(90.0)
    clock.advance(60.0)
    assert a.effective_rate("sms") == 100.0  # never above the configured rate
    assert granted_in(1.0) <= 100 + burst_cells(100)


def test_per_hour_cap_holds_until_the_next_clock_hour(store: Store) -> None:
    clock = FakeClock(start=1_800_000_000.0)  # 1_800_000_000 is a whole hour (UTC)
    limiter = SharedRateLimiter(store, clock)
    limiter.configure([ProviderLimit("lms", 1000, per_hour=30)])
    granted = 0
    for _ in range(100):
        granted += limiter.acquire("lms", 10).granted
        clock.advance(0.05)
    assert granted == 30
    grant = limiter.acquire("lms", 10)
    assert grant.granted == 0 and grant.wait_s == pytest.approx(3600 - 5.0, abs=1e-5)
    clock.advance(grant.wait_s)
    assert limiter.acquire("lms", 10).granted == 10


def test_take_waits_for_tokens_and_gives_up_at_max_wait(store: Store) -> None:
    limiter = SharedRateLimiter(store)  # the real clock: take sleeps for real
    limiter.configure([ProviderLimit("sms", 100)])

    async def run() -> list[int]:
        got = [await limiter.take("sms", 500, max_wait_s=1.0) for _ in range(3)]
        limiter.penalize("sms", retry_after_s=30.0)
        got.append(await limiter.take("sms", 5, max_wait_s=0.05))
        return got

    got = asyncio.run(run())
    assert all(1 <= k <= 3 for k in got[:3]) and got[3] == 0


def _worker(url: str, barrier: object, seconds: float, seed: int) -> list[tuple[float, float, int]]:
    store = Store(url)
    limiter = SharedRateLimiter(store)
    rng = random.Random(seed)
    limiter.acquire("sms", 1)  # warm the pool and the config cache before the start line
    barrier.wait()  # type: ignore[attr-defined]
    out: list[tuple[float, float, int]] = []
    end = time.time() + seconds
    while time.time() < end:
        grant = limiter.acquire("sms", rng.randint(1, 8))
        if grant.granted:
            out.append((grant.at or 0.0, time.time(), grant.granted))
        else:
            time.sleep(grant.wait_s)
    store.dispose()
    return out


def test_processes_share_one_bucket(store: Store) -> None:
    rate, procs = 200, 3
    SharedRateLimiter(store).configure([ProviderLimit("sms", rate)])
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(procs)
        with ctx.Pool(procs) as pool:
            args = [(store.url, barrier, 3.0, seed) for seed in range(procs)]
            results = pool.starmap(_worker, args)
    decided = [(at, k) for rows in results for at, _, k in rows]
    returned = [(t, k) for rows in results for _, t, k in rows]
    assert all(rows for rows in results)  # every process got its share of grants
    # The limiter's own guarantee: decisions, by the real clock, never over rate + burst.
    assert max_in_window(decided, 1.0, closed=True) <= rate + burst_cells(rate) + 1
    # What a sender sees when its call returns, after the commit: still within 5 %.
    assert max_in_window(returned, 1.0, closed=True) <= rate * 1.05
    assert sum(k for _, k in decided) >= 2 * rate  # ~3 s at the rate, minus start-up


@pytest.mark.parametrize("rate", [1, 7, 49, 50, 200, 1000, 5000])
def test_decision_bound_holds_at_every_rate(rate: int) -> None:
    """The pure decision, without the store: any window [t, t+1 s) gets <= rate + burst."""
    limit = ProviderLimit("p", rate)
    st = BucketState(0, 0, 0, 0, 1.0, 0)
    rng = random.Random(rate)
    now = 1_800_000_000 * NS
    events: list[tuple[float, int]] = []
    for _ in range(20_000):
        granted, wait = decide(limit, st, now, rng.randint(1, max(1, rate // 20)), 0.05)
        if granted:
            events.append((now / NS, granted))
        now += rng.choice([0, 1, wait, rng.randint(0, 3 * emission_ns(rate))])
    assert max_in_window(events, 1.0, closed=False) <= rate + burst_cells(rate)
