"""The alert lifecycle in the store: raised once, repeated on its interval, cleared;
concurrent evaluators notify once (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ums_pipelines.alerts import ack_alert, clear_alert, raise_alert
from ums_pipelines.alerts.lifecycle import repeat_due
from ums_pipelines.store import Store
from ums_pipelines.store.alerts import Alert, AlertNotification

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def _raise(store: Store, now: datetime, key: str = "error_burst:sim-sms") -> object:
    with store.session() as session:
        return raise_alert(
            session, key=key, rule="error_burst", subject="sim-sms",
            details={"failures": 300}, now=now, summary="error burst sim-sms: 300 failures",
        )  # fmt: skip


def _kinds(store: Store) -> list[tuple[int, str]]:
    with store.reading() as session:
        rows = session.execute(
            select(AlertNotification.seq, AlertNotification.kind).order_by(AlertNotification.seq)
        )
        return [(s, k) for s, k in rows]


def test_raised_once_repeated_on_interval_then_cleared(store: Store) -> None:
    assert _raise(store, T0) is not None
    # Still true on the next ticks: no second notification, only fresher details.
    assert _raise(store, T0 + timedelta(seconds=20)) is None
    with store.session() as session:
        assert repeat_due(session, T0 + timedelta(seconds=599), 600) == []
    with store.session() as session:
        (repeat,) = repeat_due(session, T0 + timedelta(seconds=600), 600)
    assert repeat.kind == "repeat" and repeat.seq == 2
    with store.session() as session:  # the interval counts from the repeat
        assert repeat_due(session, T0 + timedelta(seconds=900), 600) == []
    with store.session() as session:
        cleared = clear_alert(session, key="error_burst:sim-sms", now=T0 + timedelta(seconds=950))
    assert cleared is not None and cleared.kind == "cleared" and "해제" in cleared.text
    with store.session() as session:  # cleared alerts never repeat, clear once
        assert repeat_due(session, T0 + timedelta(hours=5), 600) == []
        assert clear_alert(session, key="error_burst:sim-sms", now=T0 + timedelta(hours=5)) is None
    assert _kinds(store) == [(1, "raised"), (2, "repeat"), (3, "cleared")]
    # The condition comes back: a new episode, notified at once, numbering goes on.
    again = _raise(store, T0 + timedelta(hours=6))
    assert again is not None
    with store.reading() as session:
        alert = session.scalars(select(Alert)).one()
        assert (alert.state, alert.episode, alert.notified, alert.cleared_at) == (
            "raised", 2, 4, None,
        )  # fmt: skip


def test_an_acknowledged_alert_is_not_repeated_but_still_clears(store: Store) -> None:
    _raise(store, T0)
    with store.session() as session:
        ack_alert(session, key="error_burst:sim-sms", actor="kim", now=T0)
    with store.session() as session:
        assert repeat_due(session, T0 + timedelta(hours=2), 600) == []
        assert clear_alert(session, key="error_burst:sim-sms", now=T0 + timedelta(hours=2))
    with store.session() as session, pytest.raises(ValueError, match=r"key: alert .* cleared"):
        ack_alert(session, key="error_burst:sim-sms", actor="kim", now=T0)


def test_producer_text_is_masked(store: Store) -> None:
    with store.session() as session:
        notice = raise_alert(
            session, key="calendar_conflict:a:b", rule="calendar_conflict", subject="a/b",
            details={}, now=T0, summary="conflict for 010-1234-5678",
        )  # fmt: skip
    assert notice is not None and "010-1234-5678" not in notice.text


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("key", {"key": ""}),
        ("rule", {"rule": "x" * 65}),
        ("severity", {"severity": "page"}),
    ],
)
def test_bad_input_names_the_field(store: Store, field: str, kwargs: dict[str, str]) -> None:
    args = {"key": "k", "rule": "r", "subject": "s", **kwargs}
    with store.session() as session, pytest.raises(ValueError, match=f"^{field}:"):
        raise_alert(session, details={}, now=T0, **args)


def test_concurrent_evaluators_notify_once(store: Store) -> None:
    """Four evaluators take each step at the same moment: one notification per step."""
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    key = "error_burst:sim-sms"

    def tick() -> None:
        try:
            barrier.wait()
            _raise(store, T0)
            barrier.wait()
            with store.session() as session:
                repeat_due(session, T0 + timedelta(seconds=700), 600)
            barrier.wait()
            with store.session() as session:
                clear_alert(session, key=key, now=T0 + timedelta(seconds=800))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _kinds(store) == [(1, "raised"), (2, "repeat"), (3, "cleared")]
