"""The shared circuit breaker: closed -> open -> half-open -> closed (or open again)."""

from __future__ import annotations

import pytest

from ums_pipelines.dispatch.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from ums_pipelines.store import Store


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def breaker(
    store: Store, clock: FakeClock, probe_batch: int = 1, probe_timeout_s: float | None = None
) -> CircuitBreaker:
    # cache_ttl_s=0: every call reads the shared row, as a sender in another process would.
    return CircuitBreaker(
        store,
        clock,
        failure_threshold=3,
        cool_down_s=10.0,
        probe_batch=probe_batch,
        probe_timeout_s=probe_timeout_s,
        cache_ttl_s=0.0,
    )


def test_opens_after_k_consecutive_failures_for_every_sender(store: Store) -> None:
    clock = FakeClock()
    a, b = breaker(store, clock), breaker(store, clock)
    assert a.allow("sms") and a.state("sms") == CLOSED
    a.record("sms", ok=False)
    b.record("sms", ok=False)
    a.record("sms", ok=True)  # a success in between: not consecutive any more
    a.record("sms", ok=False)
    b.record("sms", ok=False)
    assert b.allow("sms") and a.state("sms") == CLOSED
    a.record("sms", ok=False)  # third in a row, across two senders
    assert a.state("sms") == OPEN
    assert not a.allow("sms") and not b.allow("sms")
    assert b.allow("push")  # other providers are unaffected


def test_half_open_lets_one_probe_batch_through_and_success_closes(store: Store) -> None:
    clock = FakeClock()
    a, b = breaker(store, clock, probe_batch=2), breaker(store, clock, probe_batch=2)
    for _ in range(3):
        a.record("sms", ok=False)
    clock.now += 9.9
    assert not a.allow("sms")
    clock.now += 0.1
    assert a.allow("sms") and a.state("sms") == HALF_OPEN
    assert b.allow("sms")  # the second probe of the batch
    assert not b.allow("sms") and not a.allow("sms")
    b.record("sms", ok=True)
    assert a.state("sms") == CLOSED and a.allow("sms") and b.allow("sms")


def test_failed_probe_reopens_for_another_cool_down(store: Store) -> None:
    clock = FakeClock()
    a = breaker(store, clock)
    for _ in range(3):
        a.record("sms", ok=False)
    clock.now += 10.0
    assert a.allow("sms")
    a.record("sms", ok=False)
    assert a.state("sms") == OPEN and not a.allow("sms")
    clock.now += 10.0
    assert a.allow("sms") and a.state("sms") == HALF_OPEN


def test_a_probe_that_never_reports_is_retried_after_the_probe_timeout(store: Store) -> None:
    clock = FakeClock()
    a = breaker(store, clock, probe_timeout_s=5.0)
    for _ in range(3):
        a.record("sms", ok=False)
    clock.now += 10.0
    assert a.allow("sms")  # this sender dies without recording
    assert not a.allow("sms")
    clock.now += 5.0
    assert a.allow("sms")


def test_late_outcomes_while_open_change_nothing(store: Store) -> None:
    clock = FakeClock()
    a = breaker(store, clock)
    for _ in range(3):
        a.record("sms", ok=False)
    a.record("sms", ok=True)  # a request sent before it opened
    assert a.state("sms") == OPEN


def test_cached_sender_sees_another_senders_opening_within_the_ttl(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    mono = [100.0]
    monkeypatch.setattr("ums_pipelines.dispatch.breaker.time.monotonic", lambda: mono[0])
    cached = CircuitBreaker(store, clock, failure_threshold=3, cache_ttl_s=1.0)
    other = breaker(store, clock)
    assert cached.allow("sms")
    for _ in range(3):
        other.record("sms", ok=False)
    assert cached.allow("sms")  # still the snapshot: no round trip on the hot path
    mono[0] += 1.5
    assert not cached.allow("sms")
    mono[0] += 10.0  # the open snapshot answers without the store until the cool-down ends
    assert not cached.allow("sms")
