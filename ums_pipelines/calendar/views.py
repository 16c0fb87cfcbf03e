"""Day, week and month views of the send calendar, and the open conflicts: JSON-able
dicts for ``ums calendar show --json``, the board's /calendar page and its JSON.

A week is Monday to Sunday and a month the calendar month, both in Korea time; each day
says whether it is a business day and which holiday it is, and lists the jobs planned
on it. Events and conflicts carry job ids, names, departments and counts: no customer.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ums_pipelines.calendar.business import holiday_name, is_business_day
from ums_pipelines.calendar.conflicts import days_of
from ums_pipelines.calendar.events import INACTIVE, load_events
from ums_pipelines.settings import Settings
from ums_pipelines.store.calendar import CalendarConflict
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Job

__all__ = ["VIEWS", "calendar_view", "open_conflicts", "period_of", "span_of"]

VIEWS = ("day", "week", "month")
_WEEKDAYS = ("월", "화", "수", "목", "금", "토", "일")


def period_of(view: str, day: date) -> tuple[date, date]:
    """First and last day (both included) of the ``view`` that holds ``day``."""
    if view == "day":
        return day, day
    if view == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if view == "month":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)
    raise ValueError(f"view: {view!r} is not one of {', '.join(VIEWS)}")


def span_of(first: date, last: date, settings: Settings) -> tuple[datetime, datetime]:
    """Korea-time midnight of ``first`` to the midnight after ``last``, as aware times."""
    zone = settings.tz
    start = datetime.combine(first, time(0), tzinfo=zone)
    return start, datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)


def open_conflicts(
    session: Session,
    settings: Settings,
    *,
    job_ids: list[str] | None = None,
    include_resolved: bool = False,
) -> list[dict[str, Any]]:
    """Conflicts not resolved (or all with ``include_resolved``), newest first; those
    whose jobs have since been cancelled, stopped or rejected are left out."""
    query = select(CalendarConflict).order_by(CalendarConflict.detected_at.desc())
    if not include_resolved:
        query = query.where(CalendarConflict.resolved_at.is_(None))
    if job_ids is not None:
        query = query.where(
            or_(CalendarConflict.job_a.in_(job_ids), CalendarConflict.job_b.in_(job_ids))
        )
    rows = list(session.scalars(query))
    named = {r.job_a for r in rows} | {r.job_b for r in rows}
    query_status = select(Job.job_id, Job.status).where(Job.job_id.in_(sorted(named)))
    statuses: dict[str, str] = {job_id: status for job_id, status in session.execute(query_status)}
    zone, out = settings.tz, []
    for row in rows:
        if statuses.get(row.job_a) in INACTIVE or statuses.get(row.job_b) in INACTIVE:
            continue
        out.append(
            {
                "jobs": [row.job_a, row.job_b],
                "kind": row.kind,
                "shared": row.shared,
                "unit": row.unit,
                "detail": row.detail,
                "found_for": row.found_for,
                "overlap": [_local(row.overlap_start, zone), _local(row.overlap_end, zone)],
                "suggested": (
                    [_local(row.suggested_start, zone), _local(row.suggested_end, zone)]
                    if row.suggested_start is not None and row.suggested_end is not None
                    else None
                ),
                "detected_at": _local(row.detected_at, zone),
                "resolved_at": _local(row.resolved_at, zone) if row.resolved_at else None,
            }
        )
    return out


def _local(value: datetime, zone: ZoneInfo) -> str:
    return as_utc(value).astimezone(zone).isoformat()


def calendar_view(
    session: Session,
    settings: Settings,
    view: str,
    day: date,
    *,
    department: str | None = None,
) -> dict[str, Any]:
    """The ``view`` (day, week, month) that holds ``day``: its days with business-day and
    holiday facts and the jobs planned on each, the events, and their open conflicts."""
    first, last = period_of(view, day)
    start, end = span_of(first, last, settings)
    events = load_events(session, settings, start, end, department=department)
    zone = settings.tz
    by_day: dict[date, list[str]] = {}
    for event in events:
        for d in days_of(event, zone):
            by_day.setdefault(d, []).append(event.job_id)
    days = []
    current = first
    while current <= last:
        days.append(
            {
                "date": current.isoformat(),
                "weekday": _WEEKDAYS[current.weekday()],
                "business_day": is_business_day(current),
                "holiday": holiday_name(current),
                "jobs": by_day.get(current, []),
            }
        )
        current += timedelta(days=1)
    ids = [e.job_id for e in events]
    return {
        "view": view,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": settings.timezone,
        "department": department,
        "days": days,
        "events": [e.to_json(settings) for e in events],
        "conflicts": open_conflicts(session, settings, job_ids=ids) if ids else [],
    }
