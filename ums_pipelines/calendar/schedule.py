"""Moving a job's planned window (``ums calendar move``): the change is checked like a
registration (aware times, an end after the start, the sender number valid over the new
window), audited with the old and new window, voids an approval given for the old one
(the approval covers the window) and runs the conflict check again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.calendar.check import ConflictReport, check_job
from ums_pipelines.compliance import senders
from ums_pipelines.compliance.approvals import void_stale
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import Job

__all__ = ["MOVABLE", "ScheduleError", "reschedule"]

# Before any outbox row exists: a job sending or done keeps the window it went out in.
MOVABLE = frozenset({"registered", "targeted", "pending_approval", "approved", "scheduled"})


class ScheduleError(ValueError):
    """The new window is refused; the message names the field and the reason."""


def _when(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def reschedule(
    session: Session,
    settings: Settings,
    job_id: str,
    *,
    not_before: datetime,
    must_end_by: datetime | None,
    actor: str,
    now: datetime | None = None,
) -> ConflictReport:
    """Plan the job at ``not_before``..``must_end_by`` (None: estimated from its count
    and rate) and return its conflicts there."""
    now = now or utcnow()
    for name, value in (("not_before", not_before), ("must_end_by", must_end_by)):
        if value is not None and value.tzinfo is None:
            raise ScheduleError(f"{name}: {value} has no time zone (give +09:00 or UTC)")
    if must_end_by is not None and must_end_by <= not_before:
        raise ScheduleError("must_end_by: the window ends before it begins")
    if (must_end_by or not_before) <= now:
        raise ScheduleError(f"not_before: the window is over ({_when(must_end_by or not_before)})")
    job = session.get(Job, job_id)
    if job is None:
        raise KeyError(f"job_id: no job {job_id!r}")
    if job.status not in MOVABLE:
        raise ScheduleError(
            f"job_id: {job_id} is {job.status}; only a job not yet sending can move"
            f" ({', '.join(sorted(MOVABLE))})"
        )
    valid_until = job.content_valid_until
    if valid_until is not None and as_utc(valid_until) <= not_before:
        raise ScheduleError(
            f"not_before: the job's content is valid only until {_when(valid_until)}"
        )
    try:  # the caller number must be registered and valid over the whole new window
        senders.usable(
            session, "number", job.sender_number,
            not_before=not_before, must_end_by=must_end_by, now=now,
        )  # fmt: skip
    except senders.SenderError as exc:
        raise ScheduleError(str(exc)) from None
    was = {"not_before": _when(job.not_before), "must_end_by": _when(job.expires_at)}
    job.not_before, job.expires_at, job.updated_at = not_before, must_end_by, now
    audit.record(
        session, actor, "job.rescheduled", "job", job_id,
        was=was, now={"not_before": _when(not_before), "must_end_by": _when(must_end_by)},
    )  # fmt: skip
    session.flush()
    void_stale(session, job, actor=actor, settings=settings)
    return check_job(session, settings, job_id, actor=actor, now=now)
