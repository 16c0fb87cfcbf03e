"""Lane reservations: while the urgent lane asks for a provider's tokens, lower lanes get
none; they resume once the urgent lane stops asking."""

from __future__ import annotations

import pytest

from ums_pipelines.dispatch.ratelimit import ProviderLimit, SharedRateLimiter
from ums_pipelines.dispatch.reserve import HOLD_NS
from ums_pipelines.lanes import Lane
from ums_pipelines.store import Store

NS = 1_000_000_000
HOLD_S = HOLD_NS / NS


class Clock:
    def __init__(self) -> None:
        self.s = 1_800_000_000.0

    def __call__(self) -> float:
        return self.s


@pytest.fixture
def limiter(store: Store) -> tuple[SharedRateLimiter, Clock]:
    clock = Clock()
    limiter = SharedRateLimiter(store, clock)
    limiter.configure([ProviderLimit("p", 1000.0), ProviderLimit("q", 1000.0)])
    return limiter, clock


@pytest.mark.parametrize("lower", [None, int(Lane.AUTH), int(Lane.MARKETING)])
def test_lower_lanes_wait_while_the_urgent_lane_asks(
    limiter: tuple[SharedRateLimiter, Clock], lower: int | None
) -> None:
    rl, clock = limiter
    assert rl.acquire("p", 5, int(Lane.URGENT)).granted == 5
    refused = rl.acquire("p", 5, lower)
    assert refused.granted == 0
    assert 0 < refused.wait_s <= HOLD_S + 0.001
    # The urgent lane keeps its tokens coming meanwhile.
    clock.s += 0.1
    assert rl.acquire("p", 5, int(Lane.URGENT)).granted == 5
    # Another provider is not reserved.
    assert rl.acquire("q", 5, lower).granted == 5


def test_the_reservation_lapses_when_the_urgent_lane_stops_asking(
    limiter: tuple[SharedRateLimiter, Clock],
) -> None:
    rl, clock = limiter
    rl.acquire("p", 1, int(Lane.URGENT))
    clock.s += HOLD_S / 2
    assert rl.acquire("p", 1, int(Lane.MARKETING)).granted == 0
    clock.s += HOLD_S
    assert rl.acquire("p", 3, int(Lane.MARKETING)).granted == 3


def test_asking_renews_the_reservation(limiter: tuple[SharedRateLimiter, Clock]) -> None:
    rl, clock = limiter
    for _ in range(6):  # three holds long, one ask every half hold
        rl.acquire("p", 1, int(Lane.URGENT))
        clock.s += HOLD_S / 2
        assert rl.acquire("p", 1, None).granted == 0


def test_without_a_reservation_every_lane_is_granted(
    limiter: tuple[SharedRateLimiter, Clock],
) -> None:
    rl, _ = limiter
    assert rl.acquire("p", 4).granted == 4
    assert rl.acquire("p", 4, int(Lane.MARKETING)).granted == 4
