"""Per-provider rate limits shared by every sender of that provider, across processes.

The state lives in one ``provider_buckets`` row per provider and is changed in one short
transaction per acquisition (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: ``SELECT ... FOR
UPDATE`` on the row), so all senders draw from the same bucket. The decision itself is
GCRA with a burst of 2 % of the rate (``gcra.py``, which proves the 1-second bound).

A sender must send what it was granted at once and never bank grants into a bigger
batch: the bound holds for grant times, and only ~3 % is left for send-time jitter.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Table, select, update

from ums_pipelines.dispatch._rows import NS, Clock, to_ns, upsert
from ums_pipelines.dispatch.gcra import (
    BURST_RATIO,
    BucketState,
    ProviderLimit,
    burst_cells,
    decide,
    emission_ns,
    factor,
)
from ums_pipelines.dispatch.reserve import reserve_or_wait
from ums_pipelines.store.engine import Store, utcnow
from ums_pipelines.store.models import ProviderBucket

__all__ = [
    "BURST_RATIO",
    "Grant",
    "ProviderLimit",
    "SharedRateLimiter",
    "burst_cells",
    "emission_ns",
]

_T: Table = ProviderBucket.__table__  # type: ignore[assignment]
_STATE_COLUMNS = ("tat_ns", "hour_window", "hour_count", "penalty_until_ns", "factor_at_ns")


@dataclass(frozen=True)
class Grant:
    granted: int
    wait_s: float  # until the next message can be granted (0.0 when it can be now)
    at: float | None = None  # clock reading the decision was taken at, under the lock


def _wait_s(ns: int) -> float:
    # Rounded up by a microsecond or two: the clock is a float near 1.7e9 s (~0.2 us
    # resolution), and a caller sleeping exactly the hint must not wake just short of it.
    return 0.0 if ns <= 0 else (ns // 1000 + 2) / 1e6


def _state(row: Row[Any]) -> BucketState:
    return BucketState(
        row.tat_ns,
        row.hour_window,
        row.hour_count,
        row.penalty_until_ns,
        row.rate_factor,
        row.factor_at_ns,
    )


class SharedRateLimiter:
    """Rate limits per provider, shared through the operational store.

    ``clock`` must read the same on every sender (``time.time`` on NTP-synced hosts; a
    skew of d seconds between hosts loosens the bound by rate * d messages).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock = time.time,
        *,
        config_ttl_s: float = 5.0,
        decrease: float = 0.5,
        recovery_per_s: float = 0.05,
        min_factor: float = 0.05,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config_ttl_s = config_ttl_s
        self.decrease = decrease
        self.recovery_per_s = recovery_per_s  # of the configured rate, per second
        self.min_factor = min_factor
        self._limited: frozenset[str] = frozenset()
        self._loaded_at = -math.inf

    def configure(self, limits: Iterable[ProviderLimit]) -> None:
        """Create or change limits; the bucket state (slots, penalties) is kept."""
        with self.store.session() as s:
            for lim in limits:
                values = dict.fromkeys(_STATE_COLUMNS, 0) | {
                    "provider": lim.provider,
                    "per_second": float(lim.per_second),
                    "per_hour": lim.per_hour,
                    "rate_factor": 1.0,
                    "updated_at": utcnow(),
                }
                upsert(s, _T, values, update=("per_second", "per_hour", "updated_at"))
        self._loaded_at = -math.inf

    def remove(self, provider: str) -> None:
        with self.store.session() as s:
            s.execute(_T.delete().where(_T.c.provider == provider))
        self._loaded_at = -math.inf

    def is_limited(self, provider: str) -> bool:
        """From a cache refreshed every ``config_ttl_s``: no round trip for the unlimited."""
        if time.monotonic() - self._loaded_at > self.config_ttl_s:
            with self.store.session() as s:
                self._limited = frozenset(s.scalars(select(_T.c.provider)))
            self._loaded_at = time.monotonic()
        return provider in self._limited

    def acquire(self, provider: str, n: int = 1, lane: int | None = None) -> Grant:
        """Grant up to ``n`` messages now (possibly fewer, possibly 0 with a wait hint).

        ``lane`` is the lane of what the tokens are for: the urgent lane reserves the
        provider, and lower lanes (None counts as the lowest) wait while it holds it
        (``reserve.py``)."""
        if n <= 0 or not self.is_limited(provider):
            return Grant(max(n, 0), 0.0)
        with self.store.session() as s:
            row = s.execute(
                select(_T).where(_T.c.provider == provider).with_for_update()
            ).one_or_none()
            # Read the clock only once the row is locked: a reading taken before a lock
            # wait would let this grant land in slots a newer grant already counted on.
            now_s = self.clock()
            if row is None:  # removed since the cache was loaded
                return Grant(n, 0.0, now_s)
            behind = reserve_or_wait(s, provider, lane, to_ns(now_s))
            if behind:
                return Grant(0, _wait_s(behind), now_s)
            limit = ProviderLimit(provider, row.per_second, row.per_hour)
            st = _state(row)
            granted, wait = decide(limit, st, to_ns(now_s), n, self.recovery_per_s)
            if granted:
                s.execute(
                    update(_T)
                    .where(_T.c.provider == provider)
                    .values(tat_ns=st.tat, hour_window=st.hour_window, hour_count=st.hour_count)
                )
        return Grant(granted, _wait_s(wait), now_s)

    async def take(self, provider: str, n: int, max_wait_s: float) -> int:
        """Wait (up to ``max_wait_s``) until at least one message is granted; return how many.

        Send exactly that many now; ask again for the rest. Store calls run in a thread
        so a busy SQLite writer lock never stalls the event loop.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait_s
        while True:
            if self.is_limited(provider):
                grant = await asyncio.to_thread(self.acquire, provider, n)
            else:
                grant = Grant(max(n, 0), 0.0)
            left = deadline - loop.time()
            if grant.granted or left <= 0:
                return grant.granted
            await asyncio.sleep(min(grant.wait_s, left))

    def penalize(self, provider: str, retry_after_s: float = 0.0) -> None:
        """A provider said 429 / Retry-After: stop everyone until then and cut the rate.

        Only the first report of a congestion event cuts: the other senders that hit the
        same 429 burst (within the penalty or 1 s of the cut) only extend the pause.
        """
        if not self.is_limited(provider):
            return
        with self.store.session() as s:
            row = s.execute(
                select(_T).where(_T.c.provider == provider).with_for_update()
            ).one_or_none()
            now = to_ns(self.clock())
            if row is None:
                return
            until = max(row.penalty_until_ns, now + to_ns(max(retry_after_s, 0.0)))
            values: dict[str, object] = {"penalty_until_ns": until, "updated_at": utcnow()}
            if now >= max(row.penalty_until_ns, row.factor_at_ns + NS):
                current = factor(_state(row), now, self.recovery_per_s)
                values["rate_factor"] = max(self.min_factor, current * self.decrease)
                values["factor_at_ns"] = now
            s.execute(update(_T).where(_T.c.provider == provider).values(**values))

    def effective_rate(self, provider: str) -> float | None:
        """The rate in force now (after any AIMD cut), or None when unlimited."""
        with self.store.session() as s:
            row = s.execute(select(_T).where(_T.c.provider == provider)).one_or_none()
        if row is None:
            return None
        now = to_ns(self.clock())
        return float(row.per_second) * factor(_state(row), now, self.recovery_per_s)
