"""The weekly and monthly report assets: one partition materialised, its files and metadata."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from reports import monthly_report, rpt_period_segment_adds_up, weekly_partitions
from reports.demo_month import write_demo_parquet
from ums_pipelines.analytics import run_all
from ums_pipelines.definitions import defs
from ums_pipelines.resources import UmsResource
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store

KST = ZoneInfo("Asia/Seoul")


def test_weekly_partitions_are_korea_mondays() -> None:
    keys = weekly_partitions.get_partition_keys()
    assert keys[:2] == ["2026-01-05", "2026-01-12"]
    assert all(date.fromisoformat(k).weekday() == 0 for k in keys)
    assert weekly_partitions.timezone == "Asia/Seoul"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_monthly_report_asset_renders_a_partition(
    ums: UmsResource, store: Store, settings: Settings, seed: ModuleType
) -> None:
    write_demo_parquet(settings, date(2026, 3, 1), date(2026, 4, 1), 20)
    run_all(settings)
    with store.session() as session:  # one demo job known to the store: its department shows
        seed.seed_job(session, job_id="demo-2026-03-01-00")

    with dg.build_asset_context(resources={"ums": ums}, partition_key="2026-03-01") as context:
        result = monthly_report(context)

    assert isinstance(result, dg.MaterializeResult) and result.metadata is not None
    meta = {k: getattr(v, "value", v) for k, v in result.metadata.items()}
    html = Path(str(meta["path"]))
    assert html == settings.reports_dir / "monthly" / "2026-03-01.html"
    assert Path(str(meta["pdf_path"])).read_bytes().startswith(b"%PDF-")
    assert meta["rows"] == 31 * 22  # 20 first legs a day and 2 fallback legs
    assert meta["html_bytes"] == html.stat().st_size
    assert meta["mailed_to"] == 0  # no UMS_REPORT_RECIPIENTS here
    assert 'data-key="digital"' in html.read_text(encoding="utf-8")

    check = rpt_period_segment_adds_up(dg.build_asset_check_context(resources={"ums": ums}))
    assert check.passed


@pytest.mark.parametrize(
    ("name", "tick", "partition"),
    [
        ("weekly_report_schedule", datetime(2026, 3, 2, 6, 0, tzinfo=KST), "2026-02-23"),
        ("monthly_report_schedule", datetime(2026, 3, 1, 6, 0, tzinfo=KST), "2026-02-01"),
    ],
)
def test_schedules_ask_for_the_korea_period_just_ended(
    name: str, tick: datetime, partition: str
) -> None:
    schedule = defs.resolve_schedule_def(name)
    assert schedule.execution_timezone == "Asia/Seoul"
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        data = schedule.evaluate_tick(context)
    assert [r.partition_key for r in data.run_requests or []] == [partition]
