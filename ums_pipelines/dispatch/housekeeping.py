"""The small statements a dispatcher runs between sends: leases, windows, timeouts, status."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.compliance.workflow import transition
from ums_pipelines.dispatch.bulk import CHUNKS
from ums_pipelines.dispatch.claims import MESSAGES, T, expire_overdue
from ums_pipelines.dispatch.ratelimit import ProviderLimit, SharedRateLimiter
from ums_pipelines.dispatch.record import next_legs
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, as_utc, utcnow
from ums_pipelines.store.models import Job, Message

__all__ = [
    "chunks_left",
    "configure_pace",
    "finish",
    "job_state_counts",
    "job_status",
    "leg_timeout",
    "release",
    "release_owner",
    "renew",
    "start",
    "stop_overdue",
    "time_out_legs",
]

C = CHUNKS.c


def job_state_counts(store: Store, job_id: str) -> dict[str, int]:
    with store.session() as session:
        rows = session.execute(
            select(Message.state, func.count())
            .where(Message.job_id == job_id)
            .group_by(Message.state)
        ).all()
    return {state: int(n) for state, n in rows}


def chunks_left(store: Store, job_id: str) -> int:
    with store.session() as session:
        n = session.scalar(select(func.count()).where(C.job_id == job_id, C.state != "enqueued"))
    return int(n or 0)


# Where a job is before its first send; a running dispatcher moves it to "dispatching",
# which what watches running jobs relies on (the void-pauses-the-send rule, the board).
_NOT_STARTED = ("registered", "targeted", "approved", "scheduled", "held")


def start(store: Store, job_id: str) -> str:
    """Mark the job as sending (audited, once); returns its status after."""
    with store.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            return ""
        if job.status in _NOT_STARTED:
            transition(session, job, "dispatching", "ums")
        return str(job.status)


def job_status(store: Store, job_id: str) -> str:
    with store.session() as session:
        return str(session.scalar(select(Job.status).where(Job.job_id == job_id)) or "")


def leg_timeout(store: Store, job_id: str) -> timedelta | None:
    with store.session() as session:
        seconds = session.scalar(select(Job.leg_timeout_s).where(Job.job_id == job_id))
    return timedelta(seconds=seconds) if seconds else None


def configure_pace(store: Store, limiter: SharedRateLimiter, job_id: str) -> str | None:
    """A paced job gets its own bucket in the shared limiter, so every sender of the job,
    in any process, draws from one pace; returns the bucket's key."""
    with store.session() as session:
        pace = session.scalar(select(Job.pace_per_s).where(Job.job_id == job_id))
    if not pace:
        return None
    # Provider keys are 32 characters; job ids up to 64: a digest keeps them apart.
    key = "job:" + hashlib.sha256(job_id.encode()).hexdigest()[:24]
    limiter.configure([ProviderLimit(key, pace)])
    return key


def renew(store: Store, owner: str, lease: timedelta) -> int:
    """A live sender's heartbeat: its leases go on; a dead one's run out and are reaped."""
    now = utcnow()
    with store.session() as session:
        # Rows locked elsewhere (being recorded by this owner's senders, or a receipt
        # applied) are skipped, not waited for: a plain UPDATE locked in scan order and
        # deadlocked with those on PostgreSQL; their state is changing anyway.
        mine = select(T.id).where(T.lease_owner == owner, T.state == "claimed").order_by(T.id)
        if session.get_bind().dialect.name == "postgresql":
            mine = mine.with_for_update(skip_locked=True)
        result = session.execute(
            update(MESSAGES)
            .where(T.id.in_(mine.scalar_subquery()), T.state == "claimed")
            .values(lease_expires_at=now + lease)
        )
        session.execute(
            update(CHUNKS)
            .where(C.lease_owner == owner, C.state == "claimed")
            .values(lease_expires_at=now + lease)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


def confirm(store: Store, ids: Sequence[int], owner: str, lease: timedelta) -> set[int]:
    """The fence before a send whose lease may have lapsed (the heartbeat was late): the
    rows still ours, their leases extended; a row reaped meanwhile is another sender's
    now and must not go out from here as well."""
    if not ids:
        return set()
    with store.session() as session:
        kept = session.scalars(
            update(MESSAGES)
            .where(T.id.in_(ids), T.lease_owner == owner, T.state == "claimed")
            .values(lease_expires_at=utcnow() + lease)
            .returning(T.id)
        )
        return set(kept)


def release(store: Store, ids: Sequence[int], owner: str) -> int:
    """Hand claimed rows back unsent (provider down, shutting down): no attempt is used."""
    if not ids:
        return 0
    with store.session() as session:
        result = session.execute(
            update(MESSAGES)
            .where(T.id.in_(ids), T.lease_owner == owner, T.state == "claimed")
            .values(
                state="queued",
                lease_owner=None,
                lease_expires_at=None,
                attempts=func.max(T.attempts - 1, 0)
                if session.get_bind().dialect.name == "sqlite"
                else func.greatest(T.attempts - 1, 0),
                updated_at=utcnow(),
            )
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


def release_owner(store: Store, owner: str) -> int:
    with store.session() as session:
        ids = list(
            session.scalars(select(T.id).where(T.lease_owner == owner, T.state == "claimed"))
        )
        session.execute(
            update(CHUNKS)
            .where(C.lease_owner == owner, C.state == "claimed")
            .values(state="pending", lease_owner=None, lease_expires_at=None)
        )
    return release(store, ids, owner)


def stop_overdue(session: Session, settings: Settings, job_id: str, now: datetime) -> int:
    """Nothing is sent after the job's window or its content's validity has ended."""
    job = session.get(Job, job_id)
    if job is None:
        return 0
    stopped = 0
    valid_until = job.content_valid_until
    if valid_until is not None and as_utc(valid_until) <= now:
        # Validity may be cut after the rows were written: the job row is the truth.
        result = session.execute(
            update(MESSAGES)
            .where(T.job_id == job_id, T.state.in_(("queued", "held")))
            .values(
                state="expired",
                error_code="E-CONTENT-EXPIRED",
                error_reason="content validity ended before the message was sent",
                completed_at=now,
                updated_at=now,
            )
        )
        stopped = int(result.rowcount)  # type: ignore[attr-defined]
        if stopped and not job.stop_reason:
            job.stop_reason = "content validity ended"
    windowed = len(expire_overdue(session, now, job_id))
    if windowed and not job.stop_reason:
        job.stop_reason = "send window ended"
    return stopped + windowed


def time_out_legs(session: Session, settings: Settings, job_id: str, now: datetime) -> int:
    """A leg accepted but never confirmed within the job's leg timeout falls back."""
    ids = list(
        session.scalars(
            select(T.id)
            .where(
                T.job_id == job_id,
                T.state == "accepted",
                T.leg_deadline_at.is_not(None),
                T.leg_deadline_at < now,
            )
            .limit(5000)
        )
    )
    if not ids:
        return 0
    session.execute(
        update(MESSAGES)
        .where(T.id.in_(ids), T.state == "accepted")
        .values(
            state="expired",
            error_code="E-LEG-TIMEOUT",
            error_reason="no delivery receipt within the leg timeout",
            completed_at=now,
            updated_at=now,
        )
    )
    next_legs(session, settings, ids, now)
    return len(ids)


def finish(store: Store, job_id: str, states: dict[str, int]) -> None:
    with store.session() as session:
        job = session.get(Job, job_id)
        if job is None or job.status == "done":
            return
        transition(session, job, "done", "ums")
        audit.record(session, "ums", "job.done", "job", job_id, states=states)
