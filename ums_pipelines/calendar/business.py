"""Korean public holidays and business days (the ``holidays`` package, ``holidays.KR``).

A business day is a weekday that is no public or bank holiday in Korea: Seollal and
Chuseok with the days around them, substitute holidays, election days. Sending on a
holiday is allowed; the calendar flags it, and a suggested free slot is always on a
business day, within the sending day of ``calendar_day_start``..``calendar_day_end``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "Flag",
    "business_days",
    "flags_for",
    "holiday_name",
    "holidays_between",
    "is_business_day",
    "next_business_day",
]

# The calendar year range is small and fixed per process; one table per year, cached.
_CATEGORIES = ("public", "bank")


@lru_cache(maxsize=64)
def _year(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("KR", years=year, categories=_CATEGORIES, language="ko")


def holiday_name(day: date) -> str | None:
    """The Korean name of the holiday on ``day`` (e.g. 추석), None on an ordinary day;
    several holidays on one day are joined with '; '."""
    name: str | None = _year(day.year).get(day)
    return name


def is_business_day(day: date) -> bool:
    """A weekday that is no public or bank holiday."""
    return day.weekday() < 5 and holiday_name(day) is None


def next_business_day(day: date, *, include: bool = True) -> date:
    """``day`` itself if it is a business day and ``include``, else the next one."""
    current = day if include else day + timedelta(days=1)
    while not is_business_day(current):
        current += timedelta(days=1)
    return current


def business_days(start: date, end: date) -> Iterator[date]:
    """Business days from ``start`` to ``end``, both included."""
    current = start
    while current <= end:
        if is_business_day(current):
            yield current
        current += timedelta(days=1)


def holidays_between(start: date, end: date) -> list[tuple[date, str]]:
    """Holidays from ``start`` to ``end``, both included, in date order."""
    found: list[tuple[date, str]] = []
    for year in range(start.year, end.year + 1):
        found += [(d, str(n)) for d, n in _year(year).items() if start <= d <= end]
    return sorted(found)


# Flags of a planned window, in the order they are reported.
class Flag:
    HOLIDAY = "holiday"
    WEEKEND = "weekend"
    BEFORE_HOURS = "before_hours"
    AFTER_HOURS = "after_hours"


def flags_for(
    start: datetime, end: datetime, zone: ZoneInfo, day_start: time, day_end: time
) -> list[str]:
    """What is unusual about a window planned from ``start`` to ``end``: each Korea-time
    day it touches that is a holiday (``holiday:<name>@<date>``) or a weekend
    (``weekend@<date>``), and a start before or after the sending day of a business day."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start/end: a planned window needs aware times (UTC or +09:00)")
    if end < start:
        raise ValueError(f"end: {end.isoformat()} is before start {start.isoformat()}")
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    flags: list[str] = []
    day = local_start.date()
    # A window ending exactly at midnight does not touch the next day.
    last = (local_end - timedelta(microseconds=1)).date() if local_end > local_start else day
    while day <= last:
        name = holiday_name(day)
        if name is not None:
            flags.append(f"{Flag.HOLIDAY}:{name}@{day.isoformat()}")
        elif day.weekday() >= 5:
            flags.append(f"{Flag.WEEKEND}@{day.isoformat()}")
        day += timedelta(days=1)
    if is_business_day(local_start.date()):
        if local_start.time() < day_start:
            flags.append(Flag.BEFORE_HOURS)
        elif local_start.time() >= day_end:
            flags.append(Flag.AFTER_HOURS)
    return flags
