"""Jobs as calendar events: each bulk job of every department with its planned window.

A job is planned when it has a not-before: its window starts there and ends at its
must-end-by; a job without a must-end-by ends when its count is sent at its planned rate
(an estimate, marked as such). A job without a not-before goes whenever it is approved
and is not on the calendar (nor in a conflict). The
planned rate is the job's pace, or else its providers' configured capacity
(``provider_buckets``), or ``calendar_default_rate_per_s`` for a provider without one.
Real-time (standing) jobs have no window and are not on the calendar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.calendar.business import flags_for
from ums_pipelines.dispatch.compose import PROVIDERS
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Job, ProviderBucket

__all__ = [
    "INACTIVE",
    "CalendarEvent",
    "capacities",
    "event_of",
    "load_events",
]

# Statuses of jobs that will not send (or never did): shown, never in a conflict.
INACTIVE = frozenset({"cancelled", "stopped", "rejected"})
# A job without a must-end-by whose estimated window reached into the range must have
# started at most this long before it; nothing bulk runs longer at any planned rate.
_LOOKBACK = timedelta(days=2)


@dataclass(frozen=True)
class CalendarEvent:
    """One job's planned window and what the calendar knows about it."""

    job_id: str
    name: str
    department: str
    purpose: str
    product_kind: str | None
    status: str
    start: datetime  # UTC
    end: datetime  # UTC
    estimated_end: bool  # no must-end-by: the end is count / rate
    count: int | None  # frozen targets, else the author's planned count
    providers: tuple[str, ...]  # of the first legs of its routes
    rate_per_s: float  # planned messages per second on each of its providers
    flags: tuple[str, ...] = field(default=())
    updated_at: datetime | None = None  # the job's last change (the feed's DTSTAMP)

    @property
    def active(self) -> bool:
        return self.status not in INACTIVE

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def to_json(self, settings: Settings) -> dict[str, Any]:
        """JSON-able, with times in the configured zone (Korea time)."""
        zone = settings.tz
        return {
            "job_id": self.job_id,
            "name": self.name,
            "department": self.department,
            "purpose": self.purpose,
            "product_kind": self.product_kind,
            "status": self.status,
            "start": self.start.astimezone(zone).isoformat(),
            "end": self.end.astimezone(zone).isoformat(),
            "estimated_end": self.estimated_end,
            "count": self.count,
            "providers": list(self.providers),
            "rate_per_s": round(self.rate_per_s, 3),
            "flags": list(self.flags),
        }


def capacities(session: Session) -> dict[str, float]:
    """Configured messages per second of each provider with a rate limit."""
    rows = session.execute(select(ProviderBucket.provider, ProviderBucket.per_second))
    return {provider: float(rate) for provider, rate in rows}


def _providers(routes: Mapping[str, Any]) -> tuple[str, ...]:
    firsts = {chain[0] for chain in routes.values() if chain}
    return tuple(sorted({PROVIDERS.get(c, c) for c in firsts}))


def event_of(
    job: Job,
    settings: Settings,
    limits: Mapping[str, float],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> CalendarEvent:
    """The job as an event; ``start``/``end`` plan it at another window (a move being
    considered) without changing the job. A job with no not-before and no ``start`` has
    no planned window: ValueError."""
    providers = _providers(job.routes or {})
    capacity = min(
        (limits.get(p, settings.calendar_default_rate_per_s) for p in providers),
        default=settings.calendar_default_rate_per_s,
    )
    rate = min(job.pace_per_s, capacity) if job.pace_per_s else capacity
    count = job.target_count if job.target_count is not None else job.planned_count
    planned = start or job.not_before
    if planned is None:
        raise ValueError(f"job {job.job_id}: no not_before, so no planned window")
    begins = as_utc(planned)
    must_end = end or job.expires_at
    if must_end is not None:
        ends, estimated = as_utc(must_end), False
    else:
        seconds = math.ceil((count or 0) / rate)
        shortest = timedelta(minutes=settings.calendar_min_event_minutes)
        ends, estimated = begins + max(timedelta(seconds=seconds), shortest), True
    flags = flags_for(
        begins, ends, settings.tz, settings.calendar_day_start, settings.calendar_day_end
    )
    return CalendarEvent(
        job_id=job.job_id,
        name=job.name,
        department=job.department,
        purpose=job.purpose,
        product_kind=job.product_kind,
        status=job.status,
        start=begins,
        end=ends,
        estimated_end=estimated,
        count=count,
        providers=providers,
        rate_per_s=rate,
        flags=tuple(flags),
        updated_at=as_utc(job.updated_at),
    )


def load_events(
    session: Session,
    settings: Settings,
    start: datetime,
    end: datetime,
    *,
    department: str | None = None,
    active_only: bool = False,
) -> list[CalendarEvent]:
    """Events whose window touches ``start``..``end`` (aware times), by start time."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start/end: give aware times (UTC or +09:00)")
    if end <= start:
        raise ValueError(f"end: {end.isoformat()} is not after start {start.isoformat()}")
    query = select(Job).where(
        Job.status != "standing",
        Job.not_before.is_not(None),
        Job.not_before < end,
        (Job.expires_at >= start)
        | (Job.expires_at.is_(None) & (Job.not_before >= start - _LOOKBACK)),
    )
    if department is not None:
        query = query.where(Job.department == department)
    if active_only:
        query = query.where(Job.status.not_in(sorted(INACTIVE)))
    limits = capacities(session)
    events = [event_of(job, settings, limits) for job in session.scalars(query)]
    touching = [e for e in events if e.start < end and e.end > start]
    return sorted(touching, key=lambda e: (e.start, e.job_id))
