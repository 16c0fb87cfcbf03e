"""Engines and sessions for the operational store (SQLite in WAL mode, or PostgreSQL)."""

from __future__ import annotations

import fcntl
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Store", "as_utc", "is_sqlite", "retryable", "urgent", "utcnow"]

# Set for real-time work (intake, express senders): see ``urgent``.
_URGENT: ContextVar[bool] = ContextVar("ums_urgent", default=False)


@contextmanager
def urgent() -> Iterator[None]:
    """Write transactions begun in this context (threads started by ``asyncio.to_thread``
    inherit it) go before a bulk job's on SQLite's single write lock.

    SQLite's busy handler is not fair: a waiting writer sleeps and retries, and a bulk
    dispatcher that commits and begins again at once kept winning, so real-time
    messages waited seconds behind splits. Urgent writers hold a shared lock on a gate
    file while they wait and write; every other writer passes the gate exclusively
    before its BEGIN, so none starts while an urgent one waits. An urgent write thus
    waits for at most the one transaction already running. PostgreSQL needs no gate.
    """
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive UTC, PostgreSQL aware times in the session zone: unify."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


_READING = "ums_reading"
_RETRYABLE = ("40P01", "40001")  # deadlock_detected, serialization_failure


def retryable(exc: OperationalError) -> bool:
    """Whether PostgreSQL aborted the transaction as a deadlock victim or a serialization
    failure: run again from the start, it saw nothing of its own work applied."""
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE


_T = TypeVar("_T")
_BUSY_TIMEOUT_S = 60.0


class _Turns:
    """One writer at a time among a process's threads, urgent ones first.

    SQLite's busy handler is a sleep-and-retry loop (1 ms growing to 100 ms per try):
    with 20 threads of one process queued on the write lock (a real-time intake's
    callers beside an agent's claims and records), each lost retry sleeps longer, and a
    write that held the lock for 2 ms waited 0.3-0.7 s at p99. Threads of one process
    wait here instead, woken as soon as the writer before them ends, so at most one of
    them is in SQLite's retry loop, against the other processes' writers only.
    """

    def __init__(self, timeout_s: float) -> None:
        self._cv = threading.Condition()
        self._busy = False
        self._urgent = 0  # urgent threads waiting: ordinary ones let them go first
        self._timeout_s = timeout_s

    def acquire(self, urgent: bool) -> None:
        deadline = time.monotonic() + self._timeout_s
        with self._cv:
            self._urgent += urgent
            try:
                while self._busy or (not urgent and self._urgent):
                    left = deadline - time.monotonic()
                    # As SQLite's own busy timeout would: an error, never a hang (a
                    # thread opening a second write session inside its first, say).
                    if left <= 0:
                        raise sqlite3.OperationalError(
                            f"database is locked: no write turn in {self._timeout_s:g} s"
                        )
                    self._cv.wait(left)
            finally:
                self._urgent -= urgent
            self._busy = True

    def release(self) -> None:
        with self._cv:
            self._busy = False
            self._cv.notify_all()


def _configure_sqlite(engine: Engine, gate: str | None) -> None:
    # pysqlite's own transaction handling defers BEGIN and never takes the write lock up
    # front; with several writers that ends in "database is locked" mid-transaction.
    # Taking it with BEGIN IMMEDIATE makes writers queue on busy_timeout instead.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
        cur.close()
        if gate is not None:
            # One descriptor per connection: flock() conflicts between descriptors, so
            # threads of one process queue at the gate like separate processes do.
            _record.info["gate"] = os.open(gate, os.O_RDWR | os.O_CREAT, 0o600)

    @event.listens_for(engine, "close")
    def _on_close(_dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        fd = _record.info.pop("gate", None)
        if fd is not None:
            os.close(fd)

    turns = _Turns(_BUSY_TIMEOUT_S)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A reading session (``Store.reading``) takes a WAL snapshot and no write lock.
        if conn.get_execution_options().get(_READING, False):
            conn.exec_driver_sql("BEGIN")
            return
        info = conn.connection.info
        fd = info.get("gate")
        is_urgent = _URGENT.get()
        try:
            # The gate before the turn: an urgent thread waiting for its process's turn
            # already keeps other processes' ordinary writers out.
            if fd is not None:
                if is_urgent:
                    fcntl.flock(fd, fcntl.LOCK_SH)
                    info["gated"] = True
                else:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    fcntl.flock(fd, fcntl.LOCK_UN)
            turns.acquire(is_urgent)
            info["turn"] = True
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _on_end(conn)
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: Any) -> None:
        info = conn.connection.info
        if info.pop("turn", False):
            turns.release()
        if info.pop("gated", False):
            fcntl.flock(info["gate"], fcntl.LOCK_UN)


class Store:
    """One store per URL: an engine plus a session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        kwargs: dict[str, Any] = {"future": True}
        gate: str | None = None
        if self.sqlite:
            database = make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                gate = f"{database}-gate"
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": _BUSY_TIMEOUT_S}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(url, **kwargs)
        if self.sqlite:
            _configure_sqlite(self.engine, gate)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(**{_READING: True}), expire_on_commit=False
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A short transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only look: on SQLite it does not queue for the single write lock, so
        an idle poller (is there anything to claim?) costs the writers nothing."""
        with self._readers() as session, session.begin():
            yield session

    def retrying(self, work: Callable[[Session], _T], attempts: int = 5) -> _T:
        """Run ``work`` in a transaction, again from the start when PostgreSQL aborts it
        as a deadlock victim or a serialization failure (the other transaction goes on;
        ours saw nothing of its own work applied)."""
        for attempt in range(attempts):
            try:
                with self.session() as session:
                    return work(session)
            except OperationalError as exc:
                if not retryable(exc) or attempt == attempts - 1:
                    raise
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
        raise AssertionError("unreachable")

    def migrate(self) -> None:
        from ums_pipelines.store.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
