from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ums_pipelines.calendar.business import (
    business_days,
    flags_for,
    holiday_name,
    holidays_between,
    is_business_day,
    next_business_day,
)

KST = ZoneInfo("Asia/Seoul")


@pytest.mark.parametrize(
    ("day", "business", "name_part"),
    [
        (date(2026, 9, 24), False, "추석"),  # the day before Chuseok
        (date(2026, 9, 25), False, "추석"),
        (date(2026, 9, 26), False, "추석"),  # the day after (a Saturday, still named)
        (date(2026, 10, 9), False, "한글날"),
        (date(2026, 10, 5), False, "개천절"),  # substitute holiday for 10-03 (a Saturday)
        (date(2026, 2, 17), False, "설날"),
        (date(2026, 9, 23), True, None),  # Wednesday before Chuseok
        (date(2026, 10, 8), True, None),
        (date(2026, 9, 27), False, None),  # Sunday: no holiday, no business day
        (date(2026, 11, 26), True, None),
    ],
)
def test_korean_holidays_and_business_days(
    day: date, business: bool, name_part: str | None
) -> None:
    assert is_business_day(day) is business
    name = holiday_name(day)
    if name_part is None:
        assert name is None
    else:
        assert name is not None and name_part in name


@pytest.mark.parametrize(
    ("day", "include", "expected"),
    [
        (date(2026, 9, 24), True, date(2026, 9, 28)),  # over Chuseok and the weekend
        (date(2026, 9, 23), True, date(2026, 9, 23)),
        (date(2026, 9, 23), False, date(2026, 9, 28)),
        (date(2026, 10, 8), False, date(2026, 10, 12)),  # Hangul Day Friday, weekend
        (date(2026, 10, 2), False, date(2026, 10, 6)),  # Oct 3 Sat, Oct 5 substitute
    ],
)
def test_next_business_day(day: date, include: bool, expected: date) -> None:
    assert next_business_day(day, include=include) == expected


def test_business_days_and_holidays_between() -> None:
    days = list(business_days(date(2026, 9, 21), date(2026, 10, 11)))
    assert date(2026, 9, 25) not in days and date(2026, 10, 9) not in days
    assert days[:3] == [date(2026, 9, 21), date(2026, 9, 22), date(2026, 9, 23)]
    assert len(days) == 11  # 15 weekdays less Chuseok (2), Oct 5 and Hangul Day
    found = holidays_between(date(2026, 12, 20), date(2027, 1, 2))
    assert [d for d, _ in found] == [date(2026, 12, 25), date(2027, 1, 1)]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # Chuseok morning: one holiday flag, no hours flag (no business day)
        (datetime(2026, 9, 25, 10, tzinfo=KST), datetime(2026, 9, 25, 12, tzinfo=KST),
         ["holiday:추석@2026-09-25"]),
        # Hangul Day over into the weekend
        (datetime(2026, 10, 9, 10, tzinfo=KST), datetime(2026, 10, 10, 9, tzinfo=KST),
         ["holiday:한글날@2026-10-09", "weekend@2026-10-10"]),
        # an ordinary Thursday in hours: nothing
        (datetime(2026, 11, 26, 10, tzinfo=KST), datetime(2026, 11, 26, 17, tzinfo=KST), []),
        # ends at midnight exactly: the next day is not touched
        (datetime(2026, 11, 27, 19, tzinfo=KST), datetime(2026, 11, 28, 0, tzinfo=KST),
         ["after_hours"]),
        # 07:00 KST given in UTC (22:00 the day before)
        (datetime(2026, 11, 25, 22, tzinfo=UTC), datetime(2026, 11, 26, 1, tzinfo=UTC),
         ["before_hours"]),
    ],
)  # fmt: skip
def test_flags_of_a_planned_window(start: datetime, end: datetime, expected: list[str]) -> None:
    assert flags_for(start, end, KST, time(9), time(18)) == expected


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2026, 9, 25, 10), datetime(2026, 9, 25, 12, tzinfo=KST), "aware"),
        (datetime(2026, 9, 25, 12, tzinfo=KST), datetime(2026, 9, 25, 10, tzinfo=KST), "before"),
    ],
)
def test_flags_refuse_a_bad_window(start: datetime, end: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        flags_for(start, end, KST, time(9), time(18))
