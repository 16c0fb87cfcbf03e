"""Store rows per local day (the store side of reconciliation), on both backends and in a
zone with daylight saving, where SQLite cannot shift by one fixed offset."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest

from ums_pipelines.analytics import export_to_parquet
from ums_pipelines.analytics.store_counts import (
    _fixed_offset_minutes,
    store_counts_by_day,
    window_start,
)
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store


@pytest.mark.parametrize(
    ("zone", "start", "end", "minutes"),
    [
        ("Asia/Seoul", date(2021, 1, 1), date(2026, 1, 1), 540),
        ("Asia/Kolkata", date(2024, 1, 1), date(2025, 1, 1), 330),
        ("UTC", date(2024, 1, 1), date(2025, 1, 1), 0),
        ("America/New_York", date(2024, 1, 1), date(2025, 1, 1), None),
        ("Asia/Seoul", date(1987, 1, 1), date(1989, 1, 1), None),  # Seoul's last DST, 1988
        ("America/New_York", date(2024, 7, 1), date(2024, 7, 31), -240),
    ],
)
def test_fixed_offset_only_when_the_zone_never_changes_in_the_window(
    zone: str, start: date, end: date, minutes: int | None
) -> None:
    assert _fixed_offset_minutes(ZoneInfo(zone), start, end) == minutes


# Around New York midnights in winter (UTC-5) and summer (UTC-4): one offset would put
# one of each pair on the wrong day.
NY = ZoneInfo("America/New_York")
STAMPS = [
    datetime(2024, 1, 15, 23, 59, 30, tzinfo=NY),
    datetime(2024, 1, 16, 0, 0, 30, tzinfo=NY),
    datetime(2024, 7, 15, 23, 59, 30, tzinfo=NY),
    datetime(2024, 7, 16, 0, 0, 30, tzinfo=NY),
    datetime(2024, 7, 16, 20, 30, tzinfo=NY),  # 00:30 UTC the next day
]


def test_counts_per_local_day_across_daylight_saving(
    seed: ModuleType, store: Store, settings: Settings
) -> None:
    ny = settings.model_copy(update={"timezone": "America/New_York"})
    with store.session() as session:
        seed.seed_job(session)
        for i, at in enumerate(STAMPS):
            seed.add_message(
                session, f"ny{i}", channel="sms", message_type="SMS", state="delivered",
                created_at=at.astimezone(UTC), completed_after=1,
            )  # fmt: skip

    counts = store_counts_by_day(store, ny, "messages", date(2024, 1, 1))

    assert counts.now == {
        date(2024, 1, 15): 1,
        date(2024, 1, 16): 1,
        date(2024, 7, 15): 1,
        date(2024, 7, 16): 2,
    }
    assert counts.cut is None and set(counts.exported.values()) == {0}  # never exported
    # From a later start only the days on or after it.
    later = store_counts_by_day(store, ny, "messages", date(2024, 7, 16))
    assert later.now == {date(2024, 7, 16): 2}


def test_rows_inserted_before_the_export_cut_are_the_exported_bound(
    seed: ModuleType, store: Store, settings: Settings
) -> None:
    seed.seed_scenario(store)
    export_to_parquet(store, settings)
    counts = store_counts_by_day(store, settings, "messages", seed.D0)
    assert counts.now == {seed.D0: 2, seed.D1: 14, seed.D2: 1}
    assert counts.cut is not None
    # The watermark is e1's completion (00:00:02 KST on D2); the cut is 5 minutes before.
    assert counts.cut == seed.kst(seed.D2, 0, 0, 2) - timedelta(minutes=5)
    assert counts.exported == {seed.D0: 2, seed.D1: 14, seed.D2: 0}
    events = store_counts_by_day(store, settings, "delivery_events", seed.D0)
    assert events.now == {seed.D1: 4, seed.D2: 1}


def test_the_window_starts_at_the_retention_cutoff(settings: Settings) -> None:
    now = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 12:00 KST
    days = settings.retention_message_rows_days
    assert window_start(settings, "messages", now) == date(2026, 3, 10) - timedelta(days=days)
    events = settings.retention_delivery_events_days
    assert window_start(settings, "delivery_events", now) == date(2026, 3, 10) - timedelta(
        days=events
    )
    assert window_start(settings, "no_retention_class", now) == date(1970, 1, 1)


@pytest.mark.parametrize(
    ("links_days", "ttl", "expected_days"),
    [(365, 90, 275), (100, 90, 10), (60, 90, 1)],
)
def test_clicks_are_held_in_full_only_a_link_lifetime_after_the_cutoff(
    settings: Settings, links_days: int, ttl: int, expected_days: int
) -> None:
    """A link made just before its cutoff was clicked up to its lifetime later, and its
    clicks go with it: those days are not compared."""
    now = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    s = settings.model_copy(
        update={"retention_short_links_days": links_days, "shortlink_ttl_days": ttl}
    )
    assert window_start(s, "link_clicks", now) == date(2026, 3, 10) - timedelta(days=expected_days)
    replies = s.retention_mo_replies_days
    assert window_start(s, "mo_messages", now) == date(2026, 3, 10) - timedelta(days=replies)
