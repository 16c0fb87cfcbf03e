"""What is left of a job, exactly: the answer of ``ums job status`` (issue 9, recovery).

A job's work is in three places: targets of splits not yet written to the outbox
(``job_chunks``), outbox rows not yet final (``messages``), and customers the job did not
reach although every row of theirs is final (what ``ums job resend-failed`` would send).
Each open item is counted by why it is still open — waiting for a sender, waiting for its
time (retry backoff, not-before, night hold), paused, held by a live sender, orphaned by a
dead one, or sent and waiting for its receipt — so an operator knows what a restart will
do. None of it can send a delivered message again: a restart sends open rows under their
own idempotency keys, and only ``resend-failed`` makes new keys, for customers with no
delivered and no open row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ums_pipelines.dispatch.claims import T
from ums_pipelines.lanes import TERMINAL_STATES
from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import Job
from ums_pipelines.store.sendplane import JobChunk

__all__ = ["JobProgress", "LeftItem", "job_progress"]

_SENT = ("submitted", "accepted")  # sent, no final receipt yet


@dataclass(frozen=True)
class LeftItem:
    """One reason work is still open: how many, and what happens to it next."""

    kind: str
    count: int
    what_next: str
    since: datetime | None = None  # the oldest such item's time (created, lease end, ...)


@dataclass
class JobProgress:
    job_id: str
    name: str
    status: str
    stop_reason: str | None
    targets: int | None
    expires_at: datetime | None
    rows_by_state: dict[str, int] = field(default_factory=dict)
    fallback_rows_by_state: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    left: list[LeftItem] = field(default_factory=list)
    next_step: str = ""

    @property
    def open_items(self) -> int:
        """Targets unwritten plus rows not final: zero when the run has nothing left."""
        return sum(i.count for i in self.left if i.kind != "unreached")

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["open_items"] = self.open_items
        return body


def _chunks(session: Session, job_id: str, now: datetime) -> list[LeftItem]:
    rows = session.execute(
        select(JobChunk.state, JobChunk.size, JobChunk.lease_expires_at).where(
            JobChunk.job_id == job_id, JobChunk.state != "enqueued"
        )
    ).all()
    waiting = sum(size for state, size, _ in rows if state == "pending")
    live = [(size, as_utc(exp) if exp else None) for state, size, exp in rows if state == "claimed"]
    writing = sum(size for size, exp in live if exp is not None and exp > now)
    orphan = sum(size for size, exp in live if exp is None or exp <= now)
    items = []
    if waiting:
        items.append(LeftItem("unwritten", waiting, "rendered and written by the next sender"))
    if writing:
        items.append(LeftItem("being_written", writing, "a live sender is writing them"))
    if orphan:
        items.append(
            LeftItem("unwritten_orphaned", orphan, "their writer died: taken over, same keys")
        )
    return items


def _rows(session: Session, job_id: str, now: datetime) -> list[LeftItem]:
    open_rows = select(
        T.state,
        func.count().label("n"),
        func.min(T.created_at).label("oldest"),
        func.sum(case((T.not_before > now, 1), else_=0)).label("later"),
        func.min(T.not_before).label("next_at"),
        func.sum(case((T.lease_expires_at <= now, 1), else_=0)).label("expired_leases"),
        func.sum(case((T.leg_deadline_at <= now, 1), else_=0)).label("overdue"),
    ).where(T.job_id == job_id, T.state.not_in(tuple(TERMINAL_STATES)))
    items: list[LeftItem] = []
    for state, n, oldest, later, next_at, expired, overdue in session.execute(
        open_rows.group_by(T.state).order_by(T.state)
    ):
        n, later, expired, overdue = int(n), int(later or 0), int(expired or 0), int(overdue or 0)
        if state == "queued":
            if n - later:
                items.append(LeftItem("queued", n - later, "sent by the next sender", oldest))
            if later:
                items.append(
                    LeftItem("waiting", later, "not before its time (retry or window)", next_at)
                )
        elif state == "held":
            items.append(LeftItem("held", n, "sent after resume or the night hold ends", oldest))
        elif state == "claimed":
            if n - expired:
                items.append(LeftItem("in_flight", n - expired, "a live sender holds them"))
            if expired:
                items.append(
                    LeftItem("orphaned", expired, "lease ended: requeued, same key", oldest)
                )
        elif state in _SENT:
            if n - overdue:
                items.append(LeftItem("awaiting_receipt", n - overdue, "receipt expected", oldest))
            if overdue:
                items.append(
                    LeftItem("receipt_overdue", overdue, "asked at the provider, then fallback")
                )
        else:
            items.append(LeftItem(state, n, "unknown state: look at it", oldest))
    return items


def _customers(session: Session, job_id: str) -> dict[str, int]:
    per = (
        select(
            T.customer_id,
            func.max(case((T.state == "delivered", 1), else_=0)).label("delivered"),
            func.sum(case((T.state.not_in(tuple(TERMINAL_STATES)), 1), else_=0)).label("open"),
            func.max(case((T.state == "cancelled", 1), else_=0)).label("cancelled"),
        )
        .where(T.job_id == job_id)
        .group_by(T.customer_id)
        .subquery()
    )
    reached, in_progress, cancelled, unreached = session.execute(
        select(
            func.sum(case((per.c.delivered == 1, 1), else_=0)),
            func.sum(case(((per.c.delivered == 0) & (per.c.open > 0), 1), else_=0)),
            func.sum(
                case(((per.c.delivered == 0) & (per.c.open == 0) & (per.c.cancelled == 1), 1),
                     else_=0)
            ),
            func.sum(
                case(((per.c.delivered == 0) & (per.c.open == 0) & (per.c.cancelled == 0), 1),
                     else_=0)
            ),
        )
    ).one()  # fmt: skip
    return {
        "reached": int(reached or 0),
        "in_progress": int(in_progress or 0),
        "cancelled": int(cancelled or 0),
        "unreached": int(unreached or 0),
    }


def _by_state(session: Session, job_id: str, fallback: bool) -> dict[str, int]:
    legs = T.leg > 0 if fallback else T.leg == 0
    rows = session.execute(
        select(T.state, func.count()).where(T.job_id == job_id, legs).group_by(T.state)
    )
    return {state: int(n) for state, n in sorted(rows)}


def _next_step(p: JobProgress, now: datetime) -> str:
    if p.status == "paused":
        return f"ums job resume {p.job_id}, then ums dispatch {p.job_id}"
    if p.status in ("cancelled", "stopped"):
        return "nothing: the job is closed" + (f" ({p.stop_reason})" if p.stop_reason else "")
    if p.open_items:
        if p.expires_at is not None and p.expires_at <= now:
            return "nothing: the send window ended, the next dispatcher expires what is left"
        if any(i.kind == "in_flight" or i.kind == "being_written" for i in p.left):
            return "wait: a live sender is working on it"
        return f"ums dispatch {p.job_id} (continues where it stopped, same keys)"
    if p.customers.get("unreached"):
        return f"ums job resend-failed {p.job_id} (new keys, only the unreached)"
    return "nothing: every target is accounted for"


def job_progress(session: Session, job_id: str, now: datetime | None = None) -> JobProgress:
    """Everything still open for ``job_id``; raises KeyError for an unknown job."""
    now = now or utcnow()
    job = session.get(Job, job_id)
    if job is None:
        raise KeyError(job_id)
    progress = JobProgress(
        job_id=job.job_id,
        name=job.name,
        status=job.status,
        stop_reason=job.stop_reason,
        targets=job.target_count,
        expires_at=as_utc(job.expires_at) if job.expires_at else None,
        rows_by_state=_by_state(session, job_id, fallback=False),
        fallback_rows_by_state=_by_state(session, job_id, fallback=True),
        customers=_customers(session, job_id),
        left=[*_chunks(session, job_id, now), *_rows(session, job_id, now)],
    )
    unreached = progress.customers["unreached"]
    if unreached:
        progress.left.append(
            LeftItem("unreached", unreached, "final without delivery: resend-failed")
        )
    progress.next_step = _next_step(progress, now)
    return progress
