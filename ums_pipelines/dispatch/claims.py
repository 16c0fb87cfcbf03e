"""Set-based claims on the outbox: one statement per batch, whatever the batch size.

A claim is ``UPDATE … WHERE id IN (SELECT … ORDER BY priority, id LIMIT n) RETURNING …``;
on PostgreSQL the inner SELECT takes ``FOR UPDATE SKIP LOCKED`` so concurrent senders
get disjoint rows without waiting on each other; SQLite has one writer at a time (the
store opens every transaction with BEGIN IMMEDIATE) and the statement is short.

Expired leases are not claimed directly (an OR in the claim would defeat the index):
``reap_expired`` turns them back into queued rows first, and ``expire_overdue`` stops
what missed its send window instead of sending it late.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, Table, and_, or_, select, update
from sqlalchemy.orm import Session

from ums_pipelines.store.models import Message

__all__ = [
    "CLAIM_COLUMNS",
    "MESSAGES",
    "Claimed",
    "any_claimable",
    "claim_rows",
    "claim_where",
    "expire_overdue",
    "reap_expired",
    "sqlite_param",
    "to_claimed",
]

# The Core table: bulk statements skip the ORM unit of work entirely.
MESSAGES: Table = Message.__table__  # type: ignore[assignment]
T = MESSAGES.c


@dataclass(frozen=True)
class Claimed:
    """A snapshot of a claimed row: senders work on these, not on live ORM objects."""

    id: int
    idempotency_key: str
    channel: str
    message_type: str
    recipient: str
    sender: str | None
    provider_template_code: str | None
    subject: str | None
    body: str
    html_body: str | None
    attempts: int
    priority: int = 30
    created_at: datetime | None = None
    payload: dict[str, Any] | None = None
    country: str | None = None


CLAIM_COLUMNS = (
    T.id,
    T.idempotency_key,
    T.channel,
    T.message_type,
    T.recipient,
    T.sender,
    T.provider_template_code,
    T.subject,
    T.body,
    T.html_body,
    T.attempts,
    T.priority,
    T.created_at,
    T.payload,
    T.country,
)


def sqlite_param(value: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite, for statements run on the driver's
    executemany (the hot path: SQLAlchemy's per-row parameter processing costs more than
    SQLite's own work there)."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return value


def to_claimed(row: Sequence[object]) -> Claimed:
    return Claimed(*row)  # type: ignore[arg-type]


def _queued(channel: str, now: datetime) -> list[object]:
    return [
        T.state == "queued",
        T.channel == channel,
        or_(T.not_before.is_(None), T.not_before <= now),
        or_(T.expires_at.is_(None), T.expires_at > now),
    ]


def claim_where(
    session: Session,
    ids: Select[tuple[int]],
    owner: str,
    lease: timedelta,
    now: datetime,
) -> list[Claimed]:
    """Claim the rows the subquery selects (which must itself filter on claimable state)."""
    if session.get_bind().dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    statement = (
        update(MESSAGES)
        .where(T.id.in_(ids.scalar_subquery()))
        .values(
            state="claimed",
            lease_owner=owner,
            lease_expires_at=now + lease,
            attempts=T.attempts + 1,
            updated_at=now,
        )
        .returning(*CLAIM_COLUMNS)
    )
    rows = [to_claimed(r) for r in session.execute(statement)]
    # RETURNING order is unspecified: senders get the highest lane first.
    rows.sort(key=lambda c: (c.priority, c.id))
    return rows


def any_claimable(session: Session, channel: str, now: datetime, job_id: str | None = None) -> bool:
    """Whether ``claim_rows`` would find a row: asked in a read snapshot first, so an idle
    sender does not queue for SQLite's write lock just to find nothing."""
    conditions = _queued(channel, now)
    if job_id is not None:
        conditions.append(T.job_id == job_id)
    return session.scalar(select(T.id).where(and_(*conditions)).limit(1)) is not None  # type: ignore[arg-type]


def claim_rows(
    session: Session,
    channel: str,
    owner: str,
    limit: int,
    lease: timedelta,
    now: datetime,
    *,
    job_id: str | None = None,
    max_priority: int | None = None,
) -> list[Claimed]:
    """Claim up to ``limit`` queued rows of a channel, highest lane first."""
    conditions = _queued(channel, now)
    if job_id is not None:
        conditions.append(T.job_id == job_id)
    if max_priority is not None:
        conditions.append(T.priority <= max_priority)
    ids = select(T.id).where(and_(*conditions)).order_by(T.priority, T.id).limit(limit)  # type: ignore[arg-type]
    return claim_where(session, ids, owner, lease, now)


def reap_expired(session: Session, now: datetime, job_id: str | None = None) -> int:
    """Leases of dead senders end: their rows are queued again (same key, so no double send).

    On PostgreSQL the rows are locked first, in id order, skipping rows another
    transaction holds: several dispatchers reaping (or recording) the same rows at once
    deadlocked on a plain UPDATE, which locks in whatever order the scan meets them.
    """
    ids = select(T.id).where(T.state == "claimed", T.lease_expires_at < now).order_by(T.id)
    if job_id is not None:
        ids = ids.where(T.job_id == job_id)
    if session.get_bind().dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    statement = (
        update(MESSAGES)
        .where(T.id.in_(ids.scalar_subquery()), T.state == "claimed", T.lease_expires_at < now)
        .values(state="queued", lease_owner=None, lease_expires_at=None, updated_at=now)
    )
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def expire_overdue(session: Session, now: datetime, job_id: str | None = None) -> list[int]:
    """Queued rows past their end time are stopped, never sent late; returns their ids."""
    statement = (
        update(MESSAGES)
        .where(
            T.state.in_(("queued", "held")),
            T.expires_at.is_not(None),
            T.expires_at <= now,
        )
        .values(
            state="expired",
            error_code="E-WINDOW",
            error_reason="send window ended before the message was sent",
            completed_at=now,
            updated_at=now,
        )
        .returning(T.id)
    )
    if job_id is not None:
        statement = statement.where(T.job_id == job_id)
    return [int(i) for (i,) in session.execute(statement)]
