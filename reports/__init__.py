"""Periodic report assets and their schedules; ``defs`` is merged by ums_pipelines.definitions."""

import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from reports.render import render_daily_report
from ums_pipelines.resources import UmsResource

__all__ = ["defs"]

daily_partitions = dg.DailyPartitionsDefinition(
    start_date="2026-01-01", timezone="Asia/Seoul", end_offset=1
)


@dg.asset(
    partitions_def=daily_partitions,
    deps=["rpt_daily_channel"],
    group_name="reports",
    owners=["team:messaging-analytics"],
    kinds={"html", "duckdb"},
    description="Daily channel report (HTML with a chart) for one Korea-time day.",
)
def daily_report(context: dg.AssetExecutionContext, ums: UmsResource) -> dg.MaterializeResult[None]:
    started = time.monotonic()
    day = date.fromisoformat(context.partition_key)
    with ums.open_store() as store:
        ums.authorize(store, "report.render")
    path = render_daily_report(ums.settings(), day)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "bytes": path.stat().st_size,
            "seconds": round(time.monotonic() - started, 3),
        }
    )


daily_report_job = dg.define_asset_job(
    "daily_report_job",
    selection=dg.AssetSelection.assets(daily_report),
    description="Render the daily report of one day.",
)


@dg.schedule(
    job=daily_report_job,
    cron_schedule="0 7 * * *",
    execution_timezone="Asia/Seoul",
    description="07:00 Korea time: the report of the day that just ended.",
)
def daily_report_schedule(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    # Today's partition also exists (end_offset=1) for "today so far" views; the
    # schedule always reports the finished day.
    scheduled = context.scheduled_execution_time
    assert scheduled is not None
    day = scheduled.astimezone(ZoneInfo("Asia/Seoul")).date() - timedelta(days=1)
    if day < daily_partitions.start.date():
        # The first morning has no finished day to report (and no partition for it).
        return dg.SkipReason(f"{day.isoformat()} is before the first report day")
    return dg.RunRequest(run_key=f"daily-report:{day.isoformat()}", partition_key=day.isoformat())


defs = dg.Definitions(
    assets=[daily_report],
    jobs=[daily_report_job],
    schedules=[daily_report_schedule],
)
