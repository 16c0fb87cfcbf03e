"""Backoff: full jitter under an exponential, capped ceiling; Retry-After is a floor."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from ums_pipelines.dispatch.backoff import Backoff, parse_retry_after


def test_ceiling_doubles_up_to_the_cap_without_overflow() -> None:
    b = Backoff(base_s=0.5, cap_s=60.0)
    assert [b.ceiling(a) for a in range(9)] == [0.5, 1, 2, 4, 8, 16, 32, 60, 60]
    assert b.ceiling(10_000) == 60.0
    assert b.ceiling(-3) == 0.5


def test_full_jitter_is_deterministic_under_a_seeded_random() -> None:
    one = Backoff(rng=random.Random(42))
    two = Backoff(rng=random.Random(42))
    first = [one.delay(a) for a in range(12)]
    assert first == [two.delay(a) for a in range(12)]
    assert all(0.0 <= d <= one.ceiling(a) for a, d in enumerate(first))


def test_full_jitter_spreads_over_the_whole_range() -> None:
    b = Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(1))
    draws = [b.delay(10) for _ in range(2000)]
    assert max(draws) <= 8.0
    assert min(draws) < 0.1 and max(draws) > 7.9
    assert sum(draws) / len(draws) == pytest.approx(4.0, rel=0.05)


def test_retry_after_is_never_shortened_even_above_the_cap() -> None:
    b = Backoff(base_s=1.0, cap_s=10.0, rng=random.Random(3))
    assert all(b.delay(a, retry_after_s=2.5) >= 2.5 for a in range(20))
    assert b.delay(0, retry_after_s=120.0) == 120.0
    assert b.delay(0, retry_after_s=None) <= 1.0


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        Backoff(base_s=0)
    with pytest.raises(ValueError):
        Backoff(base_s=10, cap_s=1)


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("Wed, 25 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 25 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None
