"""The send calendar as an iCalendar feed (RFC 5545, the ``icalendar`` package): one
VEVENT per planned job and, optionally, one all-day VEVENT per Korean holiday.

A job's UID is made of its id alone, so a calendar client that subscribes to the feed
updates the event when the job moves instead of adding a second one. Times are in
Asia/Seoul (the configured zone) with its VTIMEZONE; DTSTAMP is the job's last change,
so the same store gives the same feed byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import icalendar
from sqlalchemy.orm import Session

from ums_pipelines.calendar.business import holidays_between
from ums_pipelines.calendar.events import INACTIVE, CalendarEvent, load_events
from ums_pipelines.calendar.views import span_of
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import utcnow

__all__ = ["PRODID", "build_feed", "calendar_feed", "job_uid"]

PRODID = "-//UMS//Send calendar//KO"
_DOMAIN = "calendar.ums"
# Jobs still to be decided show as tentative; what will not send as cancelled.
_TENTATIVE = frozenset({"registered", "targeted", "pending_approval"})


def job_uid(job_id: str) -> str:
    return f"job-{job_id}@{_DOMAIN}"


def _status(event: CalendarEvent) -> str:
    if event.status in INACTIVE:
        return "CANCELLED"
    return "TENTATIVE" if event.status in _TENTATIVE else "CONFIRMED"


def _description(event: CalendarEvent) -> str:
    count = "unknown" if event.count is None else f"{event.count:,}"
    end = "estimated from count and rate" if event.estimated_end else "must end by"
    lines = [
        f"department: {event.department}",
        f"purpose: {event.purpose}" + (f" ({event.product_kind})" if event.product_kind else ""),
        f"count: {count}",
        f"status: {event.status}",
        f"providers: {', '.join(event.providers)} at {event.rate_per_s:g}/s",
        f"end: {end}",
    ]
    if event.flags:
        lines.append(f"flags: {', '.join(event.flags)}")
    return "\n".join(lines)


def build_feed(
    events: Sequence[CalendarEvent],
    settings: Settings,
    *,
    holidays: Sequence[tuple[date, str]] = (),
    stamp: datetime | None = None,
) -> bytes:
    """The iCalendar text of ``events`` (and ``holidays`` as all-day events)."""
    zone = settings.tz
    # DTSTAMP is always UTC (RFC 5545 3.8.7.2).
    stamp = (stamp or utcnow()).astimezone(UTC)
    feed = icalendar.Calendar()
    feed.add("prodid", PRODID)
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", "UMS 발송 캘린더")
    feed.add("x-wr-timezone", settings.timezone)
    for event in events:
        item = icalendar.Event()
        item.add("uid", job_uid(event.job_id))
        item.add("dtstamp", (event.updated_at or stamp).astimezone(UTC))
        item.add("dtstart", event.start.astimezone(zone))
        item.add("dtend", event.end.astimezone(zone))
        item.add("summary", f"[{event.department}] {event.name} ({event.job_id})")
        item.add("description", _description(event))
        item.add("categories", [event.department, event.purpose])
        item.add("status", _status(event))
        feed.add_component(item)
    for day, name in holidays:
        item = icalendar.Event()
        item.add("uid", f"holiday-{day.isoformat()}@{_DOMAIN}")
        item.add("dtstamp", stamp)
        item.add("dtstart", day)
        item.add("dtend", day + timedelta(days=1))
        item.add("summary", f"공휴일: {name}")
        item.add("categories", ["holiday"])
        item.add("transp", "TRANSPARENT")
        feed.add_component(item)
    feed.add_missing_timezones()
    return bytes(feed.to_ical())


def calendar_feed(
    session: Session,
    settings: Settings,
    first: date,
    last: date,
    *,
    department: str | None = None,
    with_holidays: bool = True,
) -> bytes:
    """The feed of the jobs planned from ``first`` to ``last`` (Korea-time days, both
    included), with the holidays between them unless ``with_holidays`` is False."""
    if last < first:
        raise ValueError(f"to: {last.isoformat()} is before from {first.isoformat()}")
    if (last - first).days > 366:
        raise ValueError("to: a feed covers at most 366 days")
    start, end = span_of(first, last, settings)
    events = load_events(session, settings, start, end, department=department)
    days = holidays_between(first, last) if with_holidays else []
    # The holidays' DTSTAMP: midnight of the first day, so the feed is the same each time.
    return build_feed(events, settings, holidays=days, stamp=start)
