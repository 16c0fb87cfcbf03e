"""Where an urgent notice stands: its steps, its rows by state, and the time it took
against the dry run's prediction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ums_pipelines.compliance.access import guard
from ums_pipelines.dispatch.housekeeping import finish, job_state_counts
from ums_pipelines.lanes import TERMINAL_STATES
from ums_pipelines.store.engine import Store, as_utc
from ums_pipelines.store.models import Job
from ums_pipelines.urgent.notices import get_notice
from ums_pipelines.urgent.send import first_sent, unsent

__all__ = ["notice_status"]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat()


def _since(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((as_utc(end) - as_utc(start)).total_seconds(), 3)


def notice_status(store: Store, notice_id: int, actor: str) -> dict[str, Any]:
    """The notice's status; a notice whose every row is final closes its job as done."""
    guard(store, actor, "urgent.status", None)
    with store.reading() as session:
        notice = get_notice(session, notice_id)
        job = session.get(Job, notice.job_id)
        assert job is not None
        facts = {
            "notice_id": notice.id,
            "job_id": notice.job_id,
            "title": notice.title,
            "status": notice.status,
            "job_status": job.status,
            "audience": notice.audience,
            "drafted_by": notice.drafted_by,
            "drafted_at": _iso(notice.drafted_at),
            "approved_by": notice.approved_by,
            "approved_at": _iso(notice.approved_at),
            "targets": job.target_count,
            "enqueued": notice.enqueued,
            "predicted_s": notice.predicted_s,
            "reach": (notice.dry_run or {}).get("reach"),
        }
        approved_at, finished_at = notice.approved_at, notice.finished_at
        started = notice.first_sent_at
    states = job_state_counts(store, notice.job_id)
    # Sent by other agents (``--no-send``): the times come from the rows themselves.
    started = started or first_sent(store, notice.job_id)
    waiting = unsent(store, notice.job_id) if approved_at is not None else True
    facts |= {
        "states": states,
        "first_sent_at": _iso(started),
        "finished_at": _iso(finished_at),
        "start_s": _since(approved_at, started),
        "seconds": _since(approved_at, finished_at),
        "unsent": waiting,
    }
    if states and all(s in TERMINAL_STATES for s in states) and job.status == "dispatching":
        finish(store, notice.job_id, states)
        facts["job_status"] = "done"
    return facts
