"""Append-only, hash-chained audit log: altering or deleting a row breaks the chain."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import AuditLog

__all__ = ["GENESIS", "record", "verify_chain"]

GENESIS = "0" * 64
AUDIT_LOCK = 0x554D5341  # "UMSA": the advisory lock key of audit appends


def _digest(prev: str, at: str, actor: str, action: str, entity: str, eid: str, detail: Any) -> str:
    payload = json.dumps(
        [prev, at, actor, action, entity, eid, detail], ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    session: Session, actor: str, action: str, entity: str, entity_id: str, **detail: Any
) -> AuditLog:
    """Append one entry in the caller's transaction, so the audit and the change commit together."""
    if session.get_bind().dialect.name == "postgresql":
        # Two transactions appending at once would both link to the same last entry and
        # fork the chain; the lock serialises appends until the appender commits. (SQLite
        # already has one writer: every transaction begins IMMEDIATE.)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK})
    last = session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
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
    return row


def verify_chain(session: Session) -> int:
    """Return the number of entries checked; raise ValueError at the first broken link."""
    prev = GENESIS
    count = 0
    for row in session.scalars(select(AuditLog).order_by(AuditLog.id)):
        at = as_utc(row.at).isoformat()
        expected = _digest(prev, at, row.actor, row.action, row.entity, row.entity_id, row.detail)
        if row.prev_hash != prev or row.hash != expected:
            raise ValueError(f"audit log broken at entry {row.id}")
        prev = row.hash
        count += 1
    return count
