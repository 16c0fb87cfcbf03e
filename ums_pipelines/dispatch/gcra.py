"""The decision of the shared rate limiter, as pure integer arithmetic (nanoseconds).

The algorithm is GCRA (virtual scheduling): the row keeps a theoretical arrival time
``tat``; every granted message takes the next slot, ``T = 1/rate`` after the previous one,
and a message may be granted at ``now`` only if its slot is at most ``tau`` ahead of
``now``. ``tau`` is ``burst`` slots, ``burst = floor(2 % of the rate)``.

Why that meets "no 1-second window over the rate by more than 5 %": slots are at least
``T`` apart and each lies in ``[grant time, grant time + tau]``, so the messages granted
in any window ``[t, t + 1 s)`` own distinct slots inside ``[t, t + 1 s + tau)``, at most
``ceil((1 s + tau) / T) = rate + burst`` of them (``rate`` integral; in a closed window
one more). For 200/s that is 204 (205 closed) against the allowed 210; below 50/s the
burst is 0 and the bound is the rate itself. The remaining ~3 % is headroom for the
jitter between the grant and the provider seeing the message — which is why a sender
must send what it was granted at once and never bank grants into a bigger batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ums_pipelines.dispatch._rows import NS

__all__ = [
    "BURST_RATIO",
    "HOUR_NS",
    "BucketState",
    "ProviderLimit",
    "burst_cells",
    "decide",
    "emission_ns",
    "factor",
]

BURST_RATIO = 0.02
HOUR_NS = 3600 * NS


@dataclass(frozen=True)
class ProviderLimit:
    provider: str
    per_second: float
    per_hour: int | None = None  # counted per clock hour (UTC), as providers bill it

    def __post_init__(self) -> None:
        if not self.per_second > 0:
            raise ValueError(f"{self.provider}: per_second must be > 0")
        if self.per_hour is not None and self.per_hour <= 0:
            raise ValueError(f"{self.provider}: per_hour must be > 0 or None")


def burst_cells(per_second: float) -> int:
    return math.floor(per_second * BURST_RATIO)


def emission_ns(per_second: float) -> int:
    # Rounded up: rounding can only make the limiter slower than the rate, never faster.
    return math.ceil(NS / per_second)


@dataclass
class BucketState:
    tat: int
    hour_window: int
    hour_count: int
    penalty_until: int
    factor: float
    factor_at: int


def factor(st: BucketState, now: int, recovery_per_s: float) -> float:
    """AIMD: the cut rate climbs back linearly once the penalty is over, up to 1.0."""
    since = max(st.factor_at, st.penalty_until)
    if now <= since or st.factor >= 1.0:
        return min(st.factor, 1.0)
    return min(1.0, st.factor + recovery_per_s * (now - since) / NS)


def decide(
    limit: ProviderLimit, st: BucketState, now: int, n: int, recovery_per_s: float
) -> tuple[int, int]:
    """Grant up to ``n`` at ``now``; mutates ``st``; returns (granted, wait in ns)."""
    if now < st.penalty_until:
        return 0, st.penalty_until - now
    room = n
    next_hour = 0
    if limit.per_hour is not None:
        window = now // HOUR_NS
        if window != st.hour_window:
            st.hour_window, st.hour_count = window, 0
        next_hour = (window + 1) * HOUR_NS - now
        room = min(n, limit.per_hour - st.hour_count)
        if room <= 0:
            return 0, next_hour
    tau = burst_cells(limit.per_second) * emission_ns(limit.per_second)
    # The penalised rate only ever widens the spacing, so the bound above still holds.
    step = emission_ns(limit.per_second * max(factor(st, now, recovery_per_s), 1e-6))
    start = max(st.tat, now)
    ahead = start - now
    if ahead > tau:
        return 0, ahead - tau
    granted = min(room, (tau - ahead) // step + 1)
    st.tat = start + granted * step
    st.hour_count += granted
    wait = max(0, st.tat - tau - now)
    if limit.per_hour is not None and st.hour_count >= limit.per_hour:
        wait = max(wait, next_hour)
    return granted, wait
