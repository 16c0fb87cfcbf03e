"""Conflict detection against the store: run when a job is registered, when its targets
are frozen (the customers are known from then on) and when its window changes.

Each conflict found is kept in ``calendar_conflicts`` (one row per pair of jobs and kind),
audited as ``calendar.conflict`` when it opens and ``calendar.conflict_resolved`` when a
later check no longer finds it, and raised as an alert (``calendar/alerting.py``). The
report names both jobs, the kind and the shared count, and suggests the nearest free
slot (``conflicts.suggest_slot``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Table, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.calendar import alerting
from ums_pipelines.calendar.conflicts import (
    PROVIDER,
    Conflict,
    Slot,
    days_of,
    find_conflicts,
    suggest_slot,
)
from ums_pipelines.calendar.customers import Customers
from ums_pipelines.calendar.events import CalendarEvent, capacities, event_of, load_events
from ums_pipelines.settings import Settings
from ums_pipelines.store.calendar import CalendarConflict
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Job

__all__ = ["ConflictReport", "check_job"]

_CONFLICTS: Table = CalendarConflict.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class ConflictReport:
    job_id: str
    conflicts: list[Conflict] = field(default_factory=list)
    suggestion: Slot | None = None
    opened: list[Conflict] = field(default_factory=list)  # new since the last check
    # (job_a, job_b, kind) of the conflicts this check no longer found
    resolved: list[tuple[str, str, str]] = field(default_factory=list)
    # What is unusual about the planned window itself (a holiday, a weekend, off hours).
    flags: tuple[str, ...] = ()

    def lines(self, settings: Settings) -> list[str]:
        """One line per conflict and the suggested slot, in Korea time: what a command
        prints (job ids and counts only, no customer data)."""
        out = [c.describe() for c in self.conflicts]
        if self.conflicts:
            out.append(self.slot_text(settings))
        return out

    def slot_text(self, settings: Settings) -> str:
        return _slot_text(self.suggestion, settings)


def _slot_text(slot: Slot | None, settings: Settings) -> str:
    if slot is None:
        days = settings.calendar_slot_search_days
        return f"no free slot within {days} days: plan it by hand"
    zone = settings.tz
    start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
    return f"nearest free slot: {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} ({settings.timezone})"


def _busy(
    event: CalendarEvent,
    others: Sequence[CalendarEvent],
    customers: Customers,
    limits: dict[str, float],
    settings: Settings,
) -> list[tuple[datetime, datetime]]:
    """Windows the job may not be moved into: the whole days of jobs it shares customers
    or its campaign kind with, and the windows of jobs that would overrun a provider."""
    zone, busy = settings.tz, []
    for other in others:
        if other.job_id == event.job_id or not other.active:
            continue
        same_kind = (event.purpose, event.product_kind) == (other.purpose, other.product_kind)
        if customers.shared(event.job_id, other.job_id) or (
            same_kind and event.purpose in settings.calendar_conflict_purposes
        ):
            days = sorted(days_of(other, zone))
            first = datetime.combine(days[0], time(0), tzinfo=zone)
            busy.append((first, first + timedelta(days=len(days))))
            continue
        for provider in set(event.providers) & set(other.providers):
            capacity = limits.get(provider, settings.calendar_default_rate_per_s)
            if event.rate_per_s + other.rate_per_s > capacity:
                busy.append((other.start, other.end))
                break
    return busy


def _pair(conflict: Conflict) -> tuple[str, str, str]:
    a, b = sorted((conflict.job_id, conflict.other_job_id))
    return a, b, conflict.kind


def _merge(conflicts: list[Conflict]) -> dict[tuple[str, str, str], Conflict]:
    """One conflict per pair and kind (a provider conflict can come once per provider)."""
    merged: dict[tuple[str, str, str], Conflict] = {}
    for conflict in conflicts:
        key = _pair(conflict)
        kept = merged.get(key)
        if kept is None or (conflict.kind == PROVIDER and conflict.shared > kept.shared):
            merged[key] = conflict
    return merged


def check_job(
    session: Session,
    settings: Settings,
    job_id: str,
    *,
    actor: str,
    now: datetime | None = None,
) -> ConflictReport:
    """Find the job's conflicts at its planned window, record what opened and what was
    resolved since the last check, and alert on each new one."""
    now = now or utcnow()
    job = session.get(Job, job_id)
    if job is None:
        raise KeyError(f"job_id: no job {job_id!r}")
    limits = capacities(session)
    found: list[Conflict] = []
    suggestion: Slot | None = None
    flags: tuple[str, ...] = ()
    # Unplanned (no not-before) and real-time jobs are not on the calendar.
    if job.not_before is not None and job.status != "standing":
        event = event_of(job, settings, limits)
        flags = event.flags
        zone = settings.tz
        day = datetime.combine(min(days_of(event, zone)), time(0), tzinfo=zone)
        horizon = max(event.start, now) + timedelta(days=settings.calendar_slot_search_days + 1)
        others = load_events(session, settings, day, horizon + event.duration, active_only=True)
        # Two windows both over are history, nothing left to plan: not a conflict.
        others = [o for o in others if max(o.end, event.end) > now]
        customers = Customers(session, settings)
        found = find_conflicts(
            event,
            others,
            shared_customers=customers.shared,
            limits=limits,
            default_rate=settings.calendar_default_rate_per_s,
            purposes=settings.calendar_conflict_purposes,
            zone=zone,
        )
        if found:
            suggestion = suggest_slot(
                event.duration,
                _busy(event, others, customers, limits, settings),
                after=max(event.start, now),
                zone=zone,
                day_start=settings.calendar_day_start,
                day_end=settings.calendar_day_end,
                search_days=settings.calendar_slot_search_days,
            )
    current = _merge(found)
    opened, resolved = _record(session, job_id, current, suggestion, actor, now)
    report = ConflictReport(
        job_id, list(current.values()), suggestion, opened, resolved, flags=flags
    )
    for conflict in opened:
        alerting.conflict_opened(session, conflict, report, settings, now)
    for key in resolved:
        alerting.conflict_resolved(session, key, now)
    return report


def _insert(
    session: Session,
    key: tuple[str, str, str],
    conflict: Conflict,
    job_id: str,
    now: datetime,
) -> tuple[CalendarConflict, bool]:
    """The pair's row, inserted unless another check (the other job's targets frozen at
    the same moment) inserted it first; True when this call inserted it. A plain INSERT
    would fail that check's transaction, and with it a target freeze, on the unique key."""
    mod: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = dict(
        job_a=key[0], job_b=key[1], kind=key[2], shared=conflict.shared, unit=conflict.unit,
        detail=conflict.detail, overlap_start=conflict.overlap_start,
        overlap_end=conflict.overlap_end, found_for=job_id, detected_at=now, updated_at=now,
    )  # fmt: skip
    # RETURNING says whether the row went in (PostgreSQL reports no rowcount here).
    inserted = session.execute(
        mod.insert(_CONFLICTS)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["job_a", "job_b", "kind"])
        .returning(_CONFLICTS.c.id)
    ).scalar_one_or_none()
    row = session.scalars(
        select(CalendarConflict)
        .where(
            CalendarConflict.job_a == key[0],
            CalendarConflict.job_b == key[1],
            CalendarConflict.kind == key[2],
        )
        .execution_options(populate_existing=True)
    ).one()
    return row, inserted is not None


def _record(
    session: Session,
    job_id: str,
    current: dict[tuple[str, str, str], Conflict],
    suggestion: Slot | None,
    actor: str,
    now: datetime,
) -> tuple[list[Conflict], list[tuple[str, str, str]]]:
    rows = session.scalars(
        select(CalendarConflict).where(
            or_(CalendarConflict.job_a == job_id, CalendarConflict.job_b == job_id)
        )
    ).all()
    existing = {(r.job_a, r.job_b, r.kind): r for r in rows}
    opened: list[Conflict] = []
    for key, conflict in current.items():
        row = existing.get(key)
        fresh = row is None or row.resolved_at is not None
        if row is None:
            row, fresh = _insert(session, key, conflict, job_id, now)
        elif fresh:
            row.detected_at, row.resolved_at = now, None
        row.shared, row.unit, row.detail = conflict.shared, conflict.unit, conflict.detail
        row.overlap_start, row.overlap_end = conflict.overlap_start, conflict.overlap_end
        row.found_for, row.updated_at = job_id, now
        row.suggested_start = suggestion.start if suggestion else None
        row.suggested_end = suggestion.end if suggestion else None
        if fresh:
            opened.append(conflict)
            audit.record(
                session, actor, "calendar.conflict", "job", job_id,
                other=conflict.other_job_id, kind=conflict.kind, shared=conflict.shared,
                unit=conflict.unit, detail=conflict.detail,
                suggested=suggestion.start.isoformat() if suggestion else None,
            )  # fmt: skip
    resolved: list[tuple[str, str, str]] = []
    for key, row in existing.items():
        if key in current or row.resolved_at is not None:
            continue
        row.resolved_at, row.updated_at = now, now
        other = key[1] if key[0] == job_id else key[0]
        resolved.append(key)
        audit.record(
            session, actor, "calendar.conflict_resolved", "job", job_id, other=other, kind=key[2]
        )
    session.flush()
    return opened, resolved
