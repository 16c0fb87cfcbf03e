"""Conflicts between planned jobs and the nearest free slot: pure logic over events.

Two active jobs conflict when their times meet and they collide on something:

- ``customers``: any recipient in both frozen target lists, when both fall on one
  Korea-time day (a customer gets both that day) — ``shared`` is the shared recipients;
- ``purpose``: the same purpose (of ``calendar_conflict_purposes``) and the same campaign
  kind (product kind; none on both counts as the same) on one Korea-time day — ``shared``
  is the minutes their windows overlap (0 when they only share the day);
- ``provider``: their windows overlap on a provider and the planned rates of every job
  overlapping there add up above its capacity — ``shared`` is that sum in messages/s.

A free slot is a window of the job's duration that starts on a business day within the
sending day (and, if it fits in one day, ends within it) and meets no job it would
collide with; the first one from the planned start (never before ``not_before``) is it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ums_pipelines.calendar.business import is_business_day
from ums_pipelines.calendar.events import CalendarEvent

__all__ = [
    "CUSTOMERS",
    "PROVIDER",
    "PURPOSE",
    "Conflict",
    "Slot",
    "days_of",
    "find_conflicts",
    "overlap",
    "suggest_slot",
]

CUSTOMERS, PURPOSE, PROVIDER = "customers", "purpose", "provider"
_UNITS = {CUSTOMERS: "customers", PURPOSE: "minutes", PROVIDER: "msg/s"}
# Suggested starts are rounded up to this step: an operator types "14:40", not "14:37:12".
_STEP = timedelta(minutes=10)


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Conflict:
    """``job_id`` (the one checked) collides with ``other_job_id`` in ``kind``."""

    job_id: str
    other_job_id: str
    kind: str
    shared: float
    detail: str
    overlap_start: datetime
    overlap_end: datetime

    @property
    def unit(self) -> str:
        return _UNITS[self.kind]

    def describe(self) -> str:
        what = f"{self.kind} conflict ({self.shared:g} {self.unit}; {self.detail})"
        return f"{self.job_id} and {self.other_job_id}: {what}"


def overlap(a: CalendarEvent, b: CalendarEvent) -> tuple[datetime, datetime] | None:
    """Where the two windows overlap in time, None if they do not."""
    start, end = max(a.start, b.start), min(a.end, b.end)
    return (start, end) if start < end else None


def days_of(event: CalendarEvent, zone: ZoneInfo) -> set[date]:
    """The Korea-time days the window touches (an end at midnight touches no next day)."""
    first = event.start.astimezone(zone).date()
    last = (event.end - timedelta(microseconds=1)).astimezone(zone).date()
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}


def _same_day(
    a: CalendarEvent, b: CalendarEvent, zone: ZoneInfo
) -> tuple[datetime, datetime, float] | None:
    """Where the two meet: their overlap, else the first Korea-time day both touch (as
    that whole day); with the minutes they truly overlap. None if they do not meet."""
    both = overlap(a, b)
    if both is not None:
        return *both, (both[1] - both[0]).total_seconds() / 60
    days = sorted(days_of(a, zone) & days_of(b, zone))
    if not days:
        return None
    midnight = datetime.combine(days[0], time(0), tzinfo=zone)
    return midnight, midnight + timedelta(days=1), 0.0


def _kind_of(event: CalendarEvent) -> tuple[str, str | None]:
    return event.purpose, event.product_kind


def find_conflicts(
    event: CalendarEvent,
    others: Iterable[CalendarEvent],
    *,
    shared_customers: Callable[[str, str], int | None],
    limits: Mapping[str, float],
    default_rate: float,
    purposes: Sequence[str],
    zone: ZoneInfo,
) -> list[Conflict]:
    """Every conflict of ``event`` with the ``others`` (itself and inactive jobs skipped).

    ``shared_customers(a, b)`` counts the recipients in both jobs' targets (None when
    either has none frozen yet)."""
    if not event.active:
        return []
    candidates = [o for o in others if o.job_id != event.job_id and o.active]
    found: list[Conflict] = []
    for other in candidates:
        met = _same_day(event, other, zone)
        if met is None:
            continue
        start, end, minutes = met
        shared = shared_customers(event.job_id, other.job_id)
        if shared:
            found.append(
                Conflict(event.job_id, other.job_id, CUSTOMERS, shared,
                         "recipients in both target lists on the same day", start, end)
            )  # fmt: skip
        if event.purpose in purposes and _kind_of(event) == _kind_of(other):
            kind = f" / {event.product_kind}" if event.product_kind else ""
            found.append(
                Conflict(event.job_id, other.job_id, PURPOSE, round(minutes, 1),
                         f"both {event.purpose}{kind} on the same day", start, end)
            )  # fmt: skip
    for provider in event.providers:
        capacity = limits.get(provider, default_rate)
        sharing = [
            (o, both)
            for o in candidates
            if provider in o.providers and (both := overlap(event, o)) is not None
        ]
        total = event.rate_per_s + sum(o.rate_per_s for o, _ in sharing)
        if not sharing or total <= capacity * (1 + 1e-9):
            continue
        for other, both in sharing:
            found.append(
                Conflict(event.job_id, other.job_id, PROVIDER, round(total, 3),
                         f"{provider} planned at {total:g}/s over its capacity {capacity:g}/s",
                         *both)
            )  # fmt: skip
    return found


def _round_up(moment: datetime) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    steps = -(-(moment - epoch) // _STEP)
    return epoch + steps * _STEP


def suggest_slot(
    duration: timedelta,
    busy: Sequence[tuple[datetime, datetime]],
    *,
    after: datetime,
    zone: ZoneInfo,
    day_start: time,
    day_end: time,
    search_days: int,
) -> Slot | None:
    """The first window of ``duration`` from ``after`` on that starts on a business day
    within the sending day (and ends within it, if it fits in one) and overlaps none of
    the ``busy`` windows; None if there is none within ``search_days``."""
    if duration <= timedelta(0):
        raise ValueError(f"duration: {duration} must be above zero")
    if after.tzinfo is None:
        raise ValueError("after: give an aware time (UTC or +09:00)")
    local = after.astimezone(zone)
    fits = datetime.combine(local.date(), day_start) + duration <= datetime.combine(
        local.date(), day_end
    )
    spans = sorted(busy)
    for offset in range(search_days + 1):
        day = local.date() + timedelta(days=offset)
        if not is_business_day(day):
            continue
        opens = datetime.combine(day, day_start, tzinfo=zone)
        closes = datetime.combine(day, day_end, tzinfo=zone)
        start = _round_up(max(opens, local))
        while start < closes and (not fits or start + duration <= closes):
            blocking = [e for s, e in spans if s < start + duration and e > start]
            if not blocking:
                return Slot(start, start + duration)
            start = _round_up(max(blocking).astimezone(zone))
    return None
