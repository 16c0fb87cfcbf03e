"""SQLite's busy handler is not fair; urgent (real-time) writers pass a gate first."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from ums_pipelines.store import Store
from ums_pipelines.store.engine import _Turns, urgent


def _store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'gate.db'}")
    with store.session() as s:
        s.execute(sa.text("CREATE TABLE log (who TEXT)"))
    return store


def test_an_urgent_writer_waits_for_one_bulk_transaction_not_for_the_bulk_job(
    tmp_path: Path,
) -> None:
    """A bulk writer that begins again the moment it commits (a dispatcher writing split
    after split) kept winning SQLite's lock over a sleeping waiter."""
    store = _store(tmp_path)
    order: list[str] = []
    bulk_running = threading.Event()

    def bulk() -> None:
        for i in range(60):
            with store.session() as s:
                s.execute(sa.text("INSERT INTO log VALUES (:w)"), {"w": f"bulk{i}"})
                order.append(f"bulk{i}")
                bulk_running.set()
                time.sleep(0.02)  # rendering and inserting a split

    t = threading.Thread(target=bulk)
    t.start()
    bulk_running.wait()
    time.sleep(0.1)
    asked_at = len(order)
    with urgent(), store.session() as s:
        s.execute(sa.text("INSERT INTO log VALUES ('urgent')"))
        order.append("urgent")
    t.join(30)
    # In after the split that was running when it asked (a few more may pass while a
    # loaded machine deschedules this thread before the gate), long before the bulk
    # loop's end: without the gate it came in after all 60.
    assert order.index("urgent") <= asked_at + 5, (asked_at, order.index("urgent"))
    store.dispose()


def test_a_reading_session_does_not_wait_for_the_write_lock(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.session() as s:
        s.execute(sa.text("INSERT INTO log VALUES ('held')"))
        started = time.monotonic()
        with store.reading() as r:
            # The writer's row is not committed: the reader sees the snapshot before it.
            assert r.scalar(sa.text("SELECT count(*) FROM log")) == 0
        assert time.monotonic() - started < 1.0
    store.dispose()


def test_a_failed_begin_releases_the_gate(tmp_path: Path) -> None:
    store = _store(tmp_path)
    quick = sa.create_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    raw = quick.raw_connection()
    raw.isolation_level = None  # type: ignore[attr-defined]
    raw.execute("BEGIN IMMEDIATE")  # type: ignore[attr-defined]
    impatient = Store(f"sqlite:///{tmp_path / 'gate.db'}")

    @sa.event.listens_for(impatient.engine, "connect")
    def _short(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
        dbapi_conn.execute("PRAGMA busy_timeout=100")

    try:
        with urgent(), impatient.session() as s:
            s.execute(sa.text("SELECT 1"))
        raise AssertionError("BEGIN IMMEDIATE should have timed out")
    except sa.exc.OperationalError:
        pass
    raw.execute("ROLLBACK")  # type: ignore[attr-defined]
    raw.close()
    # Had the urgent writer kept its shared hold, this bulk writer would block forever.
    done = threading.Event()

    def bulk() -> None:
        with impatient.session() as s:
            s.execute(sa.text("INSERT INTO log VALUES ('bulk')"))
        done.set()

    threading.Thread(target=bulk, daemon=True).start()
    assert done.wait(5)
    for s in (store, impatient):
        s.dispose()
    quick.dispose()


def test_threads_of_one_process_take_turns_urgent_first(tmp_path: Path) -> None:
    """Threads of one process queue for their turn instead of in SQLite's sleep-and-retry
    loop, and an urgent one waiting goes before an ordinary one that waited longer."""
    store = _store(tmp_path)
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with store.session() as s:
            s.execute(sa.text("INSERT INTO log VALUES ('holder')"))
            holding.set()
            release.wait(10)

    def writer(who: str, is_urgent: bool) -> None:
        def write() -> None:
            with store.session() as s:
                s.execute(sa.text("INSERT INTO log VALUES (:w)"), {"w": who})
                order.append(who)

        if is_urgent:
            with urgent():
                write()
        else:
            write()

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert holding.wait(5)
    threads.append(threading.Thread(target=writer, args=("ordinary", False)))
    threads[-1].start()
    time.sleep(0.2)  # the ordinary writer is waiting first
    threads.append(threading.Thread(target=writer, args=("urgent", True)))
    threads[-1].start()
    time.sleep(0.2)
    release.set()
    for t in threads:
        t.join(10)
    assert order == ["urgent", "ordinary"]
    store.dispose()


def test_a_turn_never_comes_within_the_timeout_is_an_error_not_a_hang() -> None:
    # e.g. a thread opening a second write session inside its first
    turns = _Turns(0.2)
    turns.acquire(urgent=False)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        turns.acquire(urgent=True)
    assert 0.15 < time.monotonic() - started < 5
    turns.release()
    turns.acquire(urgent=False)  # the failed wait left no urgent waiter counted
    turns.release()
