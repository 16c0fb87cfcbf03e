"""The hash-chained audit log: it verifies, and any edit, deletion or reorder is detected."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from ums_pipelines.audit import GENESIS, record, verify_chain
from ums_pipelines.store import Store
from ums_pipelines.store.models import AuditLog


def fill(store: Store, n: int = 4) -> list[int]:
    ids = []
    for i in range(n):
        with store.session() as session:
            row = record(
                session, f"user{i}", "job.registered", "job", f"job-{i}", n=i, 이름="김민수"
            )
            ids.append(row.id)
    return ids


def test_empty_log_verifies(store: Store) -> None:
    with store.session() as session:
        assert verify_chain(session) == 0


def test_chain_links_each_entry_to_the_previous(store: Store) -> None:
    fill(store)
    with store.session() as session:
        rows = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        assert rows[0].prev_hash == GENESIS
        for before, after in itertools.pairwise(rows):
            assert after.prev_hash == before.hash
        assert len({r.hash for r in rows}) == len(rows)
        assert verify_chain(session) == 4


def test_entries_in_one_transaction_chain_too(store: Store) -> None:
    with store.session() as session:
        a = record(session, "u", "a", "job", "1")
        b = record(session, "u", "b", "job", "1")
        assert b.prev_hash == a.hash
    with store.session() as session:
        assert verify_chain(session) == 2


def test_rolled_back_entry_leaves_no_trace(store: Store) -> None:
    fill(store, 2)
    with pytest.raises(RuntimeError), store.session() as session:
        record(session, "u", "x", "job", "1")
        raise RuntimeError("the change failed")
    fill(store, 1)
    with store.session() as session:
        assert verify_chain(session) == 3


TAMPERING: list[dict[str, object]] = [
    {"actor": "intruder"},
    {"action": "job.deleted"},
    {"entity_id": "job-99"},
    {"detail": {"n": 99, "이름": "김민수"}},
    {"prev_hash": "0" * 64},
]


def test_tampered_row_is_detected(store: Store) -> None:
    ids = fill(store)
    columns = ("actor", "action", "entity_id", "detail", "prev_hash")
    with store.session() as session:
        row = session.get(AuditLog, ids[1])
        assert row is not None
        original = {c: getattr(row, c) for c in columns}
    for change in TAMPERING:
        with store.session() as session:
            session.execute(update(AuditLog).where(AuditLog.id == ids[1]).values(**change))
        with store.session() as session, pytest.raises(ValueError, match=f"entry {ids[1]}"):
            verify_chain(session)
        with store.session() as session:
            session.execute(update(AuditLog).where(AuditLog.id == ids[1]).values(**original))
        with store.session() as session:
            assert verify_chain(session) == len(ids)  # restored: the chain holds again


def test_tampered_time_is_detected(store: Store) -> None:
    ids = fill(store)
    with store.session() as session:
        row = session.get(AuditLog, ids[2])
        assert row is not None
        row.at = row.at - timedelta(seconds=1)
    with store.session() as session, pytest.raises(ValueError, match=f"entry {ids[2]}"):
        verify_chain(session)


def test_rehashed_row_breaks_the_next_link(store: Store) -> None:
    """Recomputing a tampered row's own hash does not help: the next row names the old one."""
    ids = fill(store)
    with store.session() as session:
        session.execute(
            update(AuditLog).where(AuditLog.id == ids[1]).values(hash="f" * 64, actor="intruder")
        )
    with store.session() as session, pytest.raises(ValueError, match="broken"):
        verify_chain(session)


def test_deleted_row_is_detected(store: Store) -> None:
    ids = fill(store)
    with store.session() as session:
        session.execute(delete(AuditLog).where(AuditLog.id == ids[1]))
    with store.session() as session, pytest.raises(ValueError, match=f"entry {ids[2]}"):
        verify_chain(session)


def test_deleting_the_tail_is_not_detectable_by_the_chain_alone(store: Store) -> None:
    """Documents the limit: truncation at the end leaves a valid, shorter chain; the count
    (or an external anchor of the last hash) is what catches it."""
    ids = fill(store)
    with store.session() as session:
        session.execute(delete(AuditLog).where(AuditLog.id == ids[-1]))
    with store.session() as session:
        assert verify_chain(session) == len(ids) - 1


def test_concurrent_appenders_keep_one_chain(store: Store) -> None:
    """Writers in parallel transactions (several agents, on PostgreSQL truly concurrent)
    must not both link to the same last entry."""
    from concurrent.futures import ThreadPoolExecutor

    def append(n: int) -> None:
        for i in range(10):
            with store.session() as session:
                record(session, f"agent-{n}", "test.append", "test", f"{n}-{i}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(append, range(4)))
    with store.session() as session:
        assert verify_chain(session) == 40
