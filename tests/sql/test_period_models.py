"""rpt_period_segment / rpt_period_failure over the seeded, exported store (both backends)."""

from __future__ import annotations

from types import ModuleType

import duckdb


def test_segments_match_the_daily_report_per_day_and_channel(
    db: duckdb.DuckDBPyConnection, seed: ModuleType
) -> None:
    segments = db.execute(
        "select report_day, channel, sum(requested), sum(sent), sum(delivered), sum(failed), "
        "sum(fell_back) from rpt_period_segment group by all order by all"
    ).fetchall()
    daily = db.execute(
        "select report_day, channel, sum(requested), sum(sent), sum(delivered), sum(failed), "
        "sum(fell_back) from rpt_daily_channel group by all order by all"
    ).fetchall()
    assert segments == daily
    d1 = [r for r in segments if r[0] == seed.D1]
    assert sum(r[2] for r in d1) == 14  # push 6, alimtalk 4, sms 3 + 1 (seed docstring)
    # Every seeded message belongs to the one seeded job.
    assert db.execute("select distinct job_id from rpt_period_segment").fetchall() == [
        (seed.JOB_ID,)
    ]


def test_first_legs_and_cost(db: duckdb.DuckDBPyConnection, seed: ModuleType) -> None:
    firsts, cost = db.execute(
        "select sum(first_legs), sum(cost) from rpt_period_segment where report_day = ?",
        [seed.D1],
    ).fetchone() or (None, None)
    # a3 and s3 are next legs, every other D1 message is a first leg; the seed sets no price.
    assert (firsts, cost) == (12, 0)


def test_failures_count_undelivered_legs_with_a_code(db: duckdb.DuckDBPyConnection) -> None:
    expected = db.execute(
        "select count(*) from fct_messages where not is_delivered and error_code is not null"
    ).fetchone()
    got = db.execute("select sum(failures) from rpt_period_failure").fetchone()
    assert got == expected
