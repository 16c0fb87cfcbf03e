"""Append-only, hash-chained audit log: altering, deleting or inserting a row breaks the chain.

Each row's hash covers its own columns and the previous row's hash. A head checkpoint
(watermark ``audit:head`` = ``id:hash`` of the newest row), written by ``record`` in the
same transaction as the row, covers the one thing a chain cannot show by itself: the
newest rows deleted (the shorter chain is still a valid chain). ``record`` links each new
row to the checkpoint, not to whatever row is last, so a truncation stays visible as a
gap once more rows are appended.

What this cannot detect without an anchor outside the database: someone who can write
to the database and recomputes every hash after their change and the checkpoint too (the
hash is unkeyed SHA-256). ``verify_log(anchor=...)`` checks a head printed earlier and
kept elsewhere (a ticket, a WORM store): every row up to it must still hash the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import AuditLog, Watermark

__all__ = [
    "BASE",
    "GENESIS",
    "HEAD",
    "AuditChainBroken",
    "Break",
    "Verification",
    "record",
    "verify_chain",
    "verify_log",
]

GENESIS = "0" * 64
HEAD = "audit:head"  # watermark name of the newest row's ``id:hash``
# ``id:hash`` of the newest row a retention purge deleted (archived first): the oldest
# row left links to it instead of GENESIS.
BASE = "audit:base"
AUDIT_LOCK = 0x554D5341  # "UMSA": the advisory lock key of audit appends
PAGE = 2000  # rows per read: memory stays flat however long the log is
_RECENT = 64  # hashes remembered to recognise a row that links past an inserted one

log = logging.getLogger(__name__)


def _digest(prev: str, at: str, actor: str, action: str, entity: str, eid: str, detail: Any) -> str:
    payload = json.dumps(
        [prev, at, actor, action, entity, eid, detail], ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _parse_head(value: str) -> tuple[int, str] | None:
    ident, sep, digest = value.partition(":")
    if not sep or not ident.isdigit() or len(digest) != 64:
        return None
    return int(ident), digest


def record(
    session: Session, actor: str, action: str, entity: str, entity_id: str, **detail: Any
) -> AuditLog:
    """Append one entry in the caller's transaction, so the audit and the change commit together."""
    if session.get_bind().dialect.name == "postgresql":
        # Two transactions appending at once would both link to the same last entry and
        # fork the chain; the lock serialises appends until the appender commits. (SQLite
        # already has one writer: every transaction begins IMMEDIATE.)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK})
    # populate_existing: read what is committed now that we hold the lock, not a copy
    # this session loaded earlier.
    head = session.get(Watermark, HEAD, populate_existing=True)
    parsed = _parse_head(head.value) if head else None
    last = session.scalars(select(AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)).first()
    if parsed is not None and last != parsed[1]:
        # Linking to the checkpoint, not the last row, keeps the evidence for verify.
        log.warning("audit log: newest row differs from its head checkpoint")
    # No checkpoint: the first entry, or a log written before checkpoints existed.
    prev = parsed[1] if parsed else (last or GENESIS)
    at = utcnow()
    row = AuditLog(
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        detail=detail,
        prev_hash=prev,
        hash=_digest(prev, at.isoformat(), actor, action, entity, entity_id, detail),
    )
    session.add(row)
    session.flush()
    value = f"{row.id}:{row.hash}"
    if head is None:
        session.add(Watermark(name=HEAD, value=value, updated_at=at))
    else:
        head.value, head.updated_at = value, at
    session.flush()
    return row


@dataclass(frozen=True)
class Break:
    """The first thing wrong: the row to look at (``row_id``), what is wrong, and the
    row's action and entity (never its actor or detail, which may be personal)."""

    row_id: int
    kind: str  # edited | deleted | unlinked | inserted | truncated | checkpoint | anchor
    reason: str
    action: str | None = None
    entity: str | None = None


@dataclass(frozen=True)
class Verification:
    verified: int  # rows whose hash and link were checked before the first break
    head: tuple[int, str] | None  # the newest row's (id, hash) as read
    problem: Break | None

    @property
    def ok(self) -> bool:
        return self.problem is None


class AuditChainBroken(ValueError):
    def __init__(self, problem: Break) -> None:
        super().__init__(f"audit log broken at entry {problem.row_id}: {problem.reason}")
        self.problem = problem


_COLUMNS = (
    AuditLog.id,
    AuditLog.at,
    AuditLog.actor,
    AuditLog.action,
    AuditLog.entity,
    AuditLog.entity_id,
    AuditLog.detail,
    AuditLog.prev_hash,
    AuditLog.hash,
)


def _span(first: int, last: int) -> str:
    return f"row {first}" if first == last else f"rows {first}-{last}"


class _Walker:
    """Checks rows in id order; ``problem`` is set at the first one that does not fit."""

    def __init__(self, anchor: tuple[int, str] | None) -> None:
        self.count = 0
        self.last: tuple[int, str] | None = None  # (id, hash) of the previous row
        self.recent: deque[tuple[int, str]] = deque(maxlen=_RECENT)
        self.anchor = anchor
        self.anchor_seen = False
        self.problem: Break | None = None

    def feed(self, row: Any) -> None:
        rid, at, actor, action, entity, eid, detail, prev_hash, digest = row
        stamp = as_utc(at).isoformat()
        if _digest(prev_hash, stamp, actor, action, entity, eid, detail) != digest:
            why = f"row {rid} was edited: its hash does not match its contents"
            self.problem = Break(rid, "edited", why, action, entity)
        elif prev_hash != (self.last[1] if self.last else GENESIS):
            self.problem = self._unlinked(rid, prev_hash, action, entity)
        elif self.anchor and self.anchor[0] == rid:
            self.anchor_seen = True
            if self.anchor[1] != digest:
                why = f"row {rid} differs from the anchor kept outside the database"
                self.problem = Break(rid, "anchor", why, action, entity)
        if self.problem is None:
            self.count += 1
            self.last = (rid, digest)
            self.recent.append((rid, digest))

    def _unlinked(self, rid: int, prev_hash: str, action: str, entity: str) -> Break:
        """``rid`` does not link to the row before it: say which rows are missing or extra."""
        hashes = [h for _, h in self.recent]
        if prev_hash in hashes:
            # It links to an older row: the rows after that one are not part of the chain.
            at = len(hashes) - 1 - hashes[::-1].index(prev_hash)
            extra, linked = self.recent[at + 1][0], self.recent[at][0]
            why = f"row {extra} was inserted: row {rid} links to row {linked}, skipping it"
            return Break(extra, "inserted", why)
        if self.last is None:
            gone = _span(1, rid - 1) if rid > 1 else "the rows before it"
            why = f"row {rid} is the oldest row but links to an earlier one: {gone} deleted"
            return Break(rid, "deleted", why, action, entity)
        before = self.last[0]
        if rid > before + 1:
            why = (
                f"row {rid} follows row {before}: {_span(before + 1, rid - 1)} was deleted, "
                f"or row {before} edited"
            )
            return Break(rid, "deleted", why, action, entity)
        why = (
            f"row {rid} does not link to row {before}: a row after row {before} was deleted "
            f"(its id reused), or row {before} edited with its hash recomputed"
        )
        return Break(rid, "unlinked", why, action, entity)

    def finish(self, head: tuple[int, str] | None) -> None:
        """After the last row: the chain must end where the head checkpoint says."""
        last_id = self.last[0] if self.last else 0
        if self.problem:
            return
        if self.anchor and not self.anchor_seen:
            why = f"row {self.anchor[0]} of the anchor kept outside the database is missing"
            self.problem = Break(self.anchor[0], "truncated", why)
        elif head is None and self.last is not None:
            why = "the head checkpoint is missing: deleted newest rows cannot be ruled out"
            self.problem = Break(last_id, "checkpoint", why)
        elif head is not None and head[0] > last_id:
            why = (
                f"{_span(last_id + 1, head[0])} missing: the head checkpoint names row "
                f"{head[0]} but the log ends at row {last_id} (the newest rows were deleted)"
            )
            self.problem = Break(head[0], "truncated", why)
        elif head is not None and self.last is not None and head[1] != self.last[1]:
            why = f"row {last_id} differs from the head checkpoint: edited, hash recomputed"
            self.problem = Break(last_id, "edited", why)


def _head(session: Session) -> tuple[int, str] | None:
    value = session.scalar(
        select(Watermark.value)
        .where(Watermark.name == HEAD)
        .execution_options(populate_existing=True)
    )
    return _parse_head(value) if value else None


def verify_log(
    session: Session,
    *,
    anchor: tuple[int, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Verification:
    """Walk the whole chain in pages of ``PAGE`` rows and report the first break.

    ``anchor`` is an ``(id, hash)`` kept outside the database: that row must still be
    there with that hash. ``progress`` is called with the running count after each page.
    """
    walker = _Walker(anchor)
    base = session.get(Watermark, BASE)
    walker.last = _parse_head(base.value) if base else None
    after = walker.last[0] if walker.last else 0
    head = _head(session)
    while True:
        page = session.execute(
            select(*_COLUMNS).where(AuditLog.id > after).order_by(AuditLog.id).limit(PAGE)
        ).all()
        reread = False
        for row in page:
            if head is not None and row.id > head[0]:
                # On PostgreSQL each statement sees the newest commits: an append may
                # have landed after the checkpoint was read. Read it again first.
                head, reread = _head(session), True
                if head is None or row.id > head[0]:
                    problem = Break(
                        row.id,
                        "inserted",
                        f"row {row.id} is past the head checkpoint (row "
                        f"{head[0] if head else '-'}): inserted directly, not by record",
                        row.action,
                        row.entity,
                    )
                    return Verification(walker.count, head, problem)
            walker.feed(row)
            if walker.problem:
                return Verification(walker.count, head, walker.problem)
        if page:
            after = page[-1].id
            if progress:
                progress(walker.count)
        # A short page ends the log, unless the checkpoint was read again after it was
        # fetched: then rows committed in between are still to read.
        if len(page) < PAGE and head is None:
            # No checkpoint, or the first entry of all committed since it was read.
            head, reread = _head(session), True
        if len(page) < PAGE and not (reread and head and head[0] > after):
            break
    walker.finish(head)
    return Verification(walker.count, head, walker.problem)


def verify_chain(session: Session) -> int:
    """Return the number of entries checked; raise ``AuditChainBroken`` (a ValueError)
    naming the first bad row."""
    result = verify_log(session)
    if result.problem:
        raise AuditChainBroken(result.problem)
    return result.verified
