"""The hash-chained audit log: it verifies, and any edit, deletion or insertion made directly
in the database (plain SQL, as an intruder would) is named at its first bad row."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select, text, update

from ums_pipelines import audit
from ums_pipelines.audit import (
    GENESIS,
    HEAD,
    AuditChainBroken,
    Break,
    _digest,
    record,
    verify_chain,
    verify_log,
)
from ums_pipelines.store import Store, as_utc
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


def sql(store: Store, statement: str, **params: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def problem(store: Store, **kwargs: Any) -> Break:
    with store.session() as session:
        result = verify_log(session, **kwargs)
    assert result.problem is not None, "the tampering was not detected"
    return result.problem


def forge(store: Store, row_id: int, prev: str, action: str = "job.approved") -> str:
    """Insert a row whose hash is computed right: the intruder knows the algorithm."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    digest = _digest(prev, at.isoformat(), "intruder", action, "job", "job-9", {})
    values = {"id": row_id, "at": at, "actor": "intruder", "action": action, "entity": "job"}
    with store.engine.begin() as conn:
        conn.execute(
            insert(AuditLog.__table__).values(
                **values, entity_id="job-9", detail={}, prev_hash=prev, hash=digest
            )
        )
    return digest


def hash_of(store: Store, row_id: int) -> str:
    with store.session() as session:
        row = session.get(AuditLog, row_id)
        assert row is not None
        return row.hash


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


def test_a_long_log_is_read_in_pages_with_progress(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "PAGE", 7)
    with store.session() as session:
        for i in range(60):
            record(session, "batch", "job.registered", "job", str(i))
    seen: list[int] = []
    with store.session() as session:
        result = verify_log(session, progress=seen.append)
    assert result.ok and result.verified == 60
    assert seen == [7, 14, 21, 28, 35, 42, 49, 56, 60]
    assert result.head is not None and result.head[1] == hash_of(store, result.head[0])


EDITS = [
    ("actor", "UPDATE audit_log SET actor = 'intruder' WHERE id = :id"),
    ("action", "UPDATE audit_log SET action = 'job.deleted' WHERE id = :id"),
    ("entity_id", "UPDATE audit_log SET entity_id = 'job-99' WHERE id = :id"),
    ("at", ""),
    ("prev_hash", f"UPDATE audit_log SET prev_hash = '{'0' * 64}' WHERE id = :id"),
    ("hash", f"UPDATE audit_log SET hash = '{'f' * 64}' WHERE id = :id"),
]


@pytest.mark.parametrize(("column", "statement"), EDITS, ids=[c for c, _ in EDITS])
def test_an_edited_column_names_its_row(store: Store, column: str, statement: str) -> None:
    ids = fill(store)
    if column == "at":
        # Through Core so each driver gets a time it stores as its own.
        with store.engine.begin() as conn:
            stamp = datetime(2026, 1, 1, tzinfo=UTC)
            conn.execute(update(AuditLog.__table__).where(AuditLog.id == ids[1]).values(at=stamp))
    else:
        sql(store, statement, id=ids[1])
    found = problem(store)
    assert (found.row_id, found.kind) == (ids[1], "edited")
    assert found.action == ("job.deleted" if column == "action" else "job.registered")
    assert found.entity == "job"
    with store.session() as session, pytest.raises(AuditChainBroken, match=f"entry {ids[1]}"):
        verify_chain(session)


def test_an_edited_detail_names_its_row(store: Store) -> None:
    ids = fill(store)
    cast = ":d" if store.sqlite else "CAST(:d AS JSON)"
    new = json.dumps({"n": 99, "이름": "김민수"}, ensure_ascii=False)
    sql(store, f"UPDATE audit_log SET detail = {cast} WHERE id = :id", d=new, id=ids[2])
    found = problem(store)
    assert (found.row_id, found.kind) == (ids[2], "edited")
    assert "김민수" not in found.reason and "user2" not in found.reason


def test_a_rehashed_edit_breaks_the_next_link(store: Store) -> None:
    """Recomputing a tampered row's own hash does not help: the next row names the old one."""
    ids = fill(store)
    with store.session() as session:
        row = session.get(AuditLog, ids[1])
        assert row is not None
        at = as_utc(row.at).isoformat()
        forged = _digest(
            row.prev_hash, at, "intruder", row.action, "job", row.entity_id, row.detail
        )
    sql(
        store,
        "UPDATE audit_log SET actor = 'intruder', hash = :h WHERE id = :id",
        h=forged,
        id=ids[1],
    )
    found = problem(store)
    assert found.row_id == ids[2] and found.kind == "unlinked"
    assert f"row {ids[1]} edited" in found.reason


def test_a_deleted_middle_row_names_the_gap(store: Store) -> None:
    ids = fill(store)
    sql(store, "DELETE FROM audit_log WHERE id = :id", id=ids[1])
    found = problem(store)
    assert (found.row_id, found.kind) == (ids[2], "deleted")
    assert found.reason.startswith(
        f"row {ids[2]} follows row {ids[0]}: row {ids[1]} was deleted, or row {ids[0]} edited"
    )


def test_a_deleted_first_row_is_detected(store: Store) -> None:
    ids = fill(store)
    sql(store, "DELETE FROM audit_log WHERE id = :id", id=ids[0])
    found = problem(store)
    assert (found.row_id, found.kind) == (ids[1], "deleted")


def test_a_deleted_newest_row_is_caught_by_the_head_checkpoint(store: Store) -> None:
    """The chain alone cannot see it (a shorter chain is a valid chain); the checkpoint
    written with every append can, and so can the next append, which links past it."""
    ids = fill(store)
    sql(store, "DELETE FROM audit_log WHERE id = :id", id=ids[-1])
    found = problem(store)
    assert (found.row_id, found.kind) == (ids[-1], "truncated")
    assert f"the log ends at row {ids[-2]}" in found.reason
    with store.session() as session:
        new = record(session, "user9", "job.approved", "job", "job-9")
    found = problem(store)
    # PostgreSQL's sequence leaves a gap; SQLite gives the deleted id to the new row.
    assert found.row_id == new.id and found.kind in {"deleted", "unlinked"}


def test_a_forged_row_appended_with_a_right_hash_is_caught(store: Store) -> None:
    ids = fill(store)
    forge(store, ids[-1] + 1, hash_of(store, ids[-1]))
    found = problem(store)
    assert (found.row_id, found.kind) == (ids[-1] + 1, "inserted")
    assert (found.action, found.entity) == ("job.approved", "job")


def test_a_forged_row_in_a_gap_of_ids_is_caught(store: Store) -> None:
    """Ids have gaps on PostgreSQL (a rolled-back append uses up a sequence value); moving
    the newest row up makes one on both stores, and that log still verifies."""
    ids = fill(store)
    moved = ids[-1] + 100
    sql(store, "UPDATE audit_log SET id = :new WHERE id = :id", new=moved, id=ids[-1])
    sql(
        store,
        "UPDATE watermarks SET value = :v WHERE name = :n",
        v=f"{moved}:{hash_of(store, moved)}",
        n=HEAD,
    )
    with store.session() as session:
        assert verify_chain(session) == 4
    forge(store, ids[-1], hash_of(store, ids[-2]))
    found = problem(store)
    assert (found.row_id, found.kind) == (ids[-1], "inserted")
    assert f"row {moved} links to row {ids[-2]}" in found.reason


def test_a_deleted_checkpoint_is_reported(store: Store) -> None:
    ids = fill(store)
    sql(store, "DELETE FROM watermarks WHERE name = :n", n=HEAD)
    found = problem(store)
    assert (found.row_id, found.kind) == (ids[-1], "checkpoint")


def rechain(store: Store, actor: str) -> None:
    """A full rewrite: edit the first row and recompute every hash and the checkpoint."""
    with store.session() as session:
        rows = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        prev = GENESIS
        for i, row in enumerate(rows):
            row.actor = actor if i == 0 else row.actor
            row.prev_hash = prev
            row.hash = prev = _digest(
                prev,
                as_utc(row.at).isoformat(),
                row.actor,
                row.action,
                row.entity,
                row.entity_id,
                row.detail,
            )
        session.flush()
    last = rows[-1]
    sql(
        store,
        "UPDATE watermarks SET value = :v WHERE name = :n",
        v=f"{last.id}:{last.hash}",
        n=HEAD,
    )


def test_only_an_outside_anchor_catches_a_full_rewrite(store: Store) -> None:
    """The limit without an anchor: whoever can write the database and recompute every
    hash leaves a log that verifies. A head kept elsewhere does not match any more."""
    ids = fill(store)
    anchor = (ids[-1], hash_of(store, ids[-1]))
    with store.session() as session:
        assert verify_log(session, anchor=anchor).ok
    rechain(store, "intruder")
    with store.session() as session:
        assert verify_chain(session) == 4  # undetectable from inside the database
    found = problem(store, anchor=anchor)
    assert (found.row_id, found.kind) == (ids[-1], "anchor")
    sql(store, "DELETE FROM audit_log WHERE id = :id", id=ids[-1])
    rechain(store, "intruder")
    assert problem(store, anchor=anchor).kind == "truncated"


@pytest.fixture
def threads() -> Iterator[list[threading.Thread]]:
    started: list[threading.Thread] = []
    yield started
    for t in started:
        t.join(timeout=60)


def test_concurrent_appenders_keep_one_chain(store: Store, threads: list[threading.Thread]) -> None:
    """Writers in parallel transactions (on PostgreSQL truly concurrent) must not both link
    to the same last entry: the chain holds and no two rows share a previous hash."""
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(10):
                with store.session() as session:
                    record(session, f"agent-{n}", "test.append", "test", f"{n}-{i}")
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    for n in range(4):
        threads.append(threading.Thread(target=append, args=(n,)))
        threads[-1].start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    with store.session() as session:
        assert verify_chain(session) == 40
        prevs = session.scalars(select(AuditLog.prev_hash)).all()
    assert len(set(prevs)) == 40
