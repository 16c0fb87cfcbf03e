"""Periods (KST day / ISO week / month), load_period_report totals against known demo data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from reports.demo_month import demo_jobs, write_demo_parquet
from reports.period import load_period_report, period_of
from ums_pipelines.analytics import read_only_connection, run_all
from ums_pipelines.analytics.export import day_path
from ums_pipelines.settings import Settings

PER_DAY = 40  # first legs a day; of every 20: 16 deliver, 2 fail, 2 fall back to SMS
MARCH = date(2026, 3, 1)


@pytest.fixture
def demo(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home")
    write_demo_parquet(settings, date(2026, 2, 23), date(2026, 4, 1), PER_DAY)
    run_all(settings)
    return settings


def test_a_week_runs_monday_to_sunday_and_follows_the_one_before() -> None:
    week = period_of("weekly", date(2026, 3, 1))  # a Sunday
    assert (week.start, week.end) == (date(2026, 2, 23), date(2026, 3, 2))
    assert week.previous.start == date(2026, 2, 16)
    assert week.label.startswith("2026-W09")


def test_months_cross_years_and_leap_february() -> None:
    assert period_of("monthly", date(2028, 2, 29)).end == date(2028, 3, 1)
    dec = period_of("monthly", date(2025, 12, 31))
    assert (dec.start, dec.end) == (date(2025, 12, 1), date(2026, 1, 1))
    assert period_of("monthly", date(2026, 1, 15)).previous == dec
    assert period_of("daily", MARCH).previous.start == date(2026, 2, 28)


def test_bad_kind_and_start_name_the_field(demo: Settings) -> None:
    with pytest.raises(ValueError, match="kind: 'yearly'"):
        period_of("yearly", MARCH)
    with pytest.raises(ValueError, match="start: 2026-03-03 does not begin a weekly"):
        load_period_report(demo, "weekly", date(2026, 3, 3))


def test_month_totals_equal_the_seeded_counts(demo: Settings) -> None:
    report = load_period_report(
        demo, "monthly", MARCH, jobs=demo_jobs(date(2026, 2, 1), MARCH.replace(month=4))
    )
    t = report.total
    firsts = 31 * PER_DAY
    assert (t.first_legs, t.requested) == (firsts, firsts + firsts // 10)
    assert (t.delivered, t.failed, t.fell_back) == (
        firsts * 8 // 10 + firsts // 10,
        firsts // 10,
        firsts // 10,
    )
    # Per day: 8 delivered legs on each channel (7.5 + 0 + 9 + 0.5 KRW) and 4 SMS fallbacks.
    assert t.cost == pytest.approx(31 * (8 * 17 + 4 * 9))
    assert t.fallback_rate == pytest.approx(t.fell_back / t.requested)
    assert {r.error_code: r.failures for r in report.reasons} == {
        "E-NOTFRIEND": 124,
        "E-TIMEOUT": 62,
        "E-BLOCKED": 62,
    }
    # Only 23–28 February is in the data: the previous month is those six days.
    assert t.previous is not None and t.previous.first_legs == 6 * PER_DAY
    assert t.requested_change == t.requested - t.previous.requested
    for lines in (report.channels, report.departments, report.purposes):
        assert sum(x.requested for x in lines) == t.requested
    sms = next(c for c in report.channels if c.key == "sms")
    assert sms.name == "문자" and sms.delivered == 31 * (8 + 4)
    assert {d.key for d in report.departments} == {"retail", "card", "loan", "digital", "wealth"}


def test_a_job_missing_from_the_dimension_reports_as_unknown(demo: Settings) -> None:
    week = load_period_report(demo, "weekly", date(2026, 3, 2))
    assert [(d.key, d.requested) for d in week.departments] == [("unknown", 7 * 44)]
    assert week.total.requested_change == 0  # the week before has the same traffic


def test_day_files_exported_before_unit_price_read_as_null(demo: Settings) -> None:
    # A file written before the column existed: the models still build, cost counts 0.
    path = day_path(demo.parquet_dir, "messages", date(2026, 3, 31))
    pl.read_parquet(path).drop("unit_price").write_parquet(path)
    for other in demo.parquet_dir.glob("messages/day=*/data.parquet"):
        if other != path:
            other.unlink()
    run_all(demo)
    with read_only_connection(demo) as conn:
        row = conn.execute("select count(*), count(unit_price) from fct_messages").fetchone()
    assert row == (44, 0)
