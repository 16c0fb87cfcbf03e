"""Store.retrying: a PostgreSQL deadlock victim runs again instead of failing its caller."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ums_pipelines.store import Store


def _crossing_updates(store: Store, retry: bool) -> list[BaseException]:
    """Two transactions lock rows 1 and 2 in opposite orders: one is a deadlock victim."""
    with store.session() as s:
        s.execute(sa.text("CREATE TABLE pair (id int primary key, n int)"))
        s.execute(sa.text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    both_hold_one = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def work(first: int, second: int) -> None:
        calls = 0

        def body(s: Session) -> None:
            nonlocal calls
            calls += 1
            s.execute(sa.text("UPDATE pair SET n = n + 1 WHERE id = :i"), {"i": first})
            if calls == 1:
                both_hold_one.wait()
            s.execute(sa.text("UPDATE pair SET n = n + 1 WHERE id = :i"), {"i": second})

        try:
            if retry:
                store.retrying(body)
            else:
                with store.session() as s:
                    body(s)
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=p) for p in ((1, 2), (2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


def test_a_deadlock_victim_is_run_again(store: Store) -> None:
    if store.sqlite:
        pytest.skip("SQLite has one writer: no deadlocks between row locks")
    assert _crossing_updates(store, retry=True) == []
    with store.session() as s:
        # Both transactions applied once each: every row counted twice, none more.
        assert s.execute(sa.text("SELECT n FROM pair ORDER BY id")).scalars().all() == [2, 2]


def test_without_retrying_one_side_fails(store: Store) -> None:
    if store.sqlite:
        pytest.skip("SQLite has one writer: no deadlocks between row locks")
    errors = _crossing_updates(store, retry=False)
    assert len(errors) == 1 and "deadlock" in str(errors[0]).lower()
