"""Checking again every job of an open conflict: a job cancelled, moved by another path,
finished, or a provider given more capacity since makes its conflicts go away, and only
a new check resolves them (and clears their alerts, which would otherwise repeat).

The ``calendar_conflicts_sensor`` runs this every few minutes as ``ums-scheduler``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, union

from ums_pipelines.calendar.check import check_job
from ums_pipelines.settings import Settings
from ums_pipelines.store.calendar import CalendarConflict
from ums_pipelines.store.engine import Store, utcnow

__all__ = ["RecheckResult", "jobs_in_open_conflicts", "recheck_open"]


@dataclass
class RecheckResult:
    checked: list[str] = field(default_factory=list)
    opened: int = 0
    resolved: int = 0
    missing: list[str] = field(default_factory=list)  # jobs no longer in the store

    @property
    def summary(self) -> str:
        return (
            f"{len(self.checked)} jobs checked, {self.opened} conflicts opened,"
            f" {self.resolved} resolved"
        )


def jobs_in_open_conflicts(store: Store) -> list[str]:
    """Every job named by a conflict not resolved, in id order."""
    open_ = CalendarConflict.resolved_at.is_(None)
    query = union(
        select(CalendarConflict.job_a.label("job_id")).where(open_),
        select(CalendarConflict.job_b.label("job_id")).where(open_),
    )
    with store.reading() as session:
        return sorted(str(j) for j in session.scalars(select(query.subquery().c.job_id)))


def recheck_open(
    store: Store, settings: Settings, *, actor: str, now: datetime | None = None
) -> RecheckResult:
    """Check each job of an open conflict again, one short transaction per job."""
    now = now or utcnow()
    result = RecheckResult()
    for job_id in jobs_in_open_conflicts(store):
        try:
            with store.session() as session:
                report = check_job(session, settings, job_id, actor=actor, now=now)
        except KeyError:
            # A job deleted (a retention purge): its conflicts stay open for a person.
            result.missing.append(job_id)
            continue
        result.checked.append(job_id)
        result.opened += len(report.opened)
        result.resolved += len(report.resolved)
    return result
