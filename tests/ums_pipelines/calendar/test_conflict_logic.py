from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ums_pipelines.calendar.conflicts import (
    CUSTOMERS,
    PROVIDER,
    PURPOSE,
    days_of,
    find_conflicts,
    overlap,
    suggest_slot,
)
from ums_pipelines.calendar.events import CalendarEvent

KST = ZoneInfo("Asia/Seoul")


def kst(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=KST)


def event(
    job_id: str,
    start: datetime,
    end: datetime,
    *,
    purpose: str = "informational",
    kind: str | None = None,
    providers: tuple[str, ...] = ("sim-sms",),
    rate: float = 50.0,
    status: str = "approved",
) -> CalendarEvent:
    return CalendarEvent(
        job_id=job_id, name=job_id, department="card", purpose=purpose, product_kind=kind,
        status=status, start=start, end=end, estimated_end=False, count=1000,
        providers=providers, rate_per_s=rate,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((kst(26, 10), kst(26, 12)), (kst(26, 11), kst(26, 13)), (kst(26, 11), kst(26, 12))),
        ((kst(26, 10), kst(26, 12)), (kst(26, 12), kst(26, 13)), None),  # touching ends
        ((kst(26, 10), kst(26, 18)), (kst(26, 11), kst(26, 12)), (kst(26, 11), kst(26, 12))),
        ((kst(26, 10), kst(26, 11)), (kst(27, 10), kst(27, 11)), None),
    ],
)
def test_overlap(
    a: tuple[datetime, datetime],
    b: tuple[datetime, datetime],
    expected: tuple[datetime, datetime] | None,
) -> None:
    assert overlap(event("a", *a), event("b", *b)) == expected
    assert overlap(event("b", *b), event("a", *a)) == expected


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (kst(26, 10), kst(26, 12), 1),
        (kst(26, 22), kst(27, 0), 1),  # ends at midnight: not the next day
        (kst(26, 22), kst(27, 1), 2),
        (kst(26, 10), kst(28, 9), 3),
    ],
)
def test_days_of(start: datetime, end: datetime, days: int) -> None:
    assert len(days_of(event("a", start, end), KST)) == days


def _find(
    first: CalendarEvent,
    others: list[CalendarEvent],
    shared: int | None = None,
    limits: dict[str, float] | None = None,
) -> list[tuple[str, str, float]]:
    found = find_conflicts(
        first,
        others,
        shared_customers=lambda a, b: shared,
        limits=limits or {"sim-sms": 100.0},
        default_rate=100.0,
        purposes=["informational", "advertising"],
        zone=KST,
    )
    return sorted((c.other_job_id, c.kind, c.shared) for c in found)


@pytest.mark.parametrize(
    ("other", "shared", "expected"),
    [
        # same day, no overlap in time, 7 shared customers, other purpose and provider
        (event("b", kst(26, 15), kst(26, 16), purpose="advertising", providers=("sim-fcm",)),
         7, [("b", CUSTOMERS, 7)]),
        # next day: nothing, even with shared customers
        (event("b", kst(27, 10), kst(27, 11), providers=("sim-fcm",)), 7, []),
        # same purpose and kind, same day: purpose conflict with the minutes of overlap
        (event("b", kst(26, 10, 30), kst(26, 12), providers=("sim-fcm",)), 0,
         [("b", PURPOSE, 30.0)]),
        # same purpose, other campaign kind: none
        (event("b", kst(26, 10), kst(26, 11), kind="loan", providers=("sim-fcm",)), None, []),
        # same provider, 50 + 60 > 100/s while they overlap
        (event("b", kst(26, 10, 30), kst(26, 12), purpose="advertising", rate=60), None,
         [("b", PROVIDER, 110.0)]),
        # same provider within capacity: none
        (event("b", kst(26, 10, 30), kst(26, 12), purpose="advertising", rate=50), None, []),
        # same provider, over capacity, but not at the same time: none
        (event("b", kst(26, 14), kst(26, 15), purpose="advertising", rate=100), None, []),
        # all three at once
        (event("b", kst(26, 10), kst(26, 11), rate=100), 3,
         [("b", CUSTOMERS, 3), ("b", PROVIDER, 150.0), ("b", PURPOSE, 60.0)]),
        # a cancelled job collides with nothing
        (event("b", kst(26, 10), kst(26, 11), rate=100, status="cancelled"), 3, []),
    ],
)  # fmt: skip
def test_find_conflicts(
    other: CalendarEvent, shared: int | None, expected: list[tuple[str, str, float]]
) -> None:
    first = event("a", kst(26, 10), kst(26, 11))
    assert _find(first, [first, other], shared) == expected


def test_provider_capacity_adds_up_every_overlapping_job() -> None:
    first = event("a", kst(26, 10), kst(26, 11), rate=40)
    others = [
        event(j, kst(26, 10), kst(26, 11), purpose="advertising", kind=j, rate=40) for j in "bc"
    ]
    # 40 + 40 = 80 fits pairwise; 40 + 40 + 40 = 120 does not
    assert _find(first, others[:1]) == []
    assert _find(first, others) == [("b", PROVIDER, 120.0), ("c", PROVIDER, 120.0)]
    assert _find(first, others, limits={"sim-sms": 150.0}) == []


def test_describe_names_both_jobs_the_kind_and_the_count() -> None:
    first = event("card-0926", kst(26, 10), kst(26, 11))
    other = event("loan-0926", kst(26, 15), kst(26, 16), purpose="advertising")
    (conflict,) = find_conflicts(
        first, [other], shared_customers=lambda a, b: 412, limits={}, default_rate=1000,
        purposes=[], zone=KST,
    )  # fmt: skip
    text = conflict.describe()
    assert "card-0926" in text and "loan-0926" in text
    assert "customers conflict (412 customers" in text


HOURS = {"zone": KST, "day_start": time(9), "day_end": time(18), "search_days": 30}


@pytest.mark.parametrize(
    ("after", "duration", "busy", "expected"),
    [
        # free at once (rounded up to 10 minutes)
        (kst(26, 10, 3), timedelta(hours=1), [], kst(26, 10, 10)),
        # before the sending day: its start
        (kst(26, 6), timedelta(hours=1), [], kst(26, 9)),
        # after it: the next business day (Friday 27th)
        (kst(26, 17, 30), timedelta(hours=1), [], kst(27, 9)),
        # the rest of the day busy: after the busy window
        (kst(26, 9), timedelta(hours=2), [(kst(26, 9), kst(26, 13, 5))], kst(26, 13, 10)),
        # a gap too short is skipped
        (kst(26, 9), timedelta(hours=2),
         [(kst(26, 9), kst(26, 10)), (kst(26, 11), kst(26, 18))], kst(27, 9)),
        # Friday busy: over the weekend to Monday 30th
        (kst(27, 9), timedelta(hours=1), [(kst(27, 0), kst(28, 0))], kst(30, 9)),
        # before Chuseok (24-26 Sep) and the weekend: Monday 28 Sep
        (kst(23, 17, 30, month=9), timedelta(hours=1), [], kst(28, 9, month=9)),
        # Hangul Day (Fri 9 Oct) and the weekend: Monday 12 Oct
        (kst(8, 17, 30, month=10), timedelta(hours=1), [], kst(12, 9, month=10)),
        # longer than a sending day: any start within it, running over
        (kst(26, 9, 30), timedelta(hours=20), [], kst(26, 9, 30)),
        (kst(26, 9, 30), timedelta(hours=20), [(kst(26, 12), kst(26, 13))], kst(26, 13)),
    ],
)  # fmt: skip
def test_suggest_slot(
    after: datetime,
    duration: timedelta,
    busy: list[tuple[datetime, datetime]],
    expected: datetime,
) -> None:
    slot = suggest_slot(duration, busy, after=after, **HOURS)  # type: ignore[arg-type]
    assert slot is not None
    assert (slot.start, slot.end) == (expected, expected + duration)


def test_no_slot_within_the_search_days() -> None:
    busy = [(kst(1, 0), kst(1, 0) + timedelta(days=60))]
    hours = {**HOURS, "search_days": 10}
    assert suggest_slot(timedelta(hours=1), busy, after=kst(2, 9), **hours) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("duration", "after", "message"),
    [
        (timedelta(0), kst(26, 9), "duration"),
        (timedelta(hours=1), datetime(2026, 11, 26, 9), "aware"),
    ],
)
def test_suggest_slot_refuses_bad_input(duration: timedelta, after: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        suggest_slot(duration, [], after=after, **HOURS)  # type: ignore[arg-type]


def test_a_moved_copy_keeps_its_identity() -> None:
    moved = replace(event("a", kst(26, 10), kst(26, 11)), start=kst(27, 10), end=kst(27, 11))
    assert moved.job_id == "a" and moved.duration == timedelta(hours=1)
