"""Periodic report assets and their schedules; ``defs`` is merged by ums_pipelines.definitions."""

import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from reports.mail import mail_report
from reports.period import job_dimension
from reports.period_render import render_period_report
from reports.render import render_daily_report
from ums_pipelines.analytics.models import read_only_connection
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


# Partitions start on Monday / the 1st of the month, Korea time; the schedule ticks at
# 06:00 KST once the period is over and asks for the period that just ended.
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date="2026-01-05", timezone="Asia/Seoul", day_offset=1, hour_offset=6
)
monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date="2026-01-01", timezone="Asia/Seoul", hour_offset=6
)


def _period_asset(kind: str, partitions: dg.PartitionsDefinition[str]) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{kind}_report",
        partitions_def=partitions,
        deps=["rpt_period_segment", "rpt_period_failure"],
        group_name="reports",
        owners=["team:messaging-analytics"],
        kinds={"html", "pdf", "duckdb"},
        description=f"{kind.capitalize()} report (HTML with charts and PDF) for one Korea-time "
        "period against the one before, mailed to UMS_REPORT_RECIPIENTS.",
    )
    def _asset(context: dg.AssetExecutionContext, ums: UmsResource) -> dg.MaterializeResult[None]:
        started = time.monotonic()
        start = date.fromisoformat(context.partition_key)
        settings = ums.settings()
        with ums.open_store() as store:
            ums.authorize(store, "report.render")
            jobs = job_dimension(store)
        rendered = render_period_report(settings, kind, start, jobs=jobs)
        mailed = mail_report(settings, rendered)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(rendered.html)),
                "pdf_path": dg.MetadataValue.path(str(rendered.pdf)),
                "rows": rendered.report.total.requested,
                "html_bytes": rendered.html.stat().st_size,
                "pdf_bytes": rendered.pdf.stat().st_size,
                "mailed_to": mailed,
                "seconds": round(time.monotonic() - started, 3),
            }
        )

    return _asset


weekly_report = _period_asset("weekly", weekly_partitions)
monthly_report = _period_asset("monthly", monthly_partitions)
weekly_report_job = dg.define_asset_job(
    "weekly_report_job",
    selection=dg.AssetSelection.assets(weekly_report),
    description="Render and mail the weekly report of one ISO week (Mon–Sun KST).",
)
monthly_report_job = dg.define_asset_job(
    "monthly_report_job",
    selection=dg.AssetSelection.assets(monthly_report),
    description="Render and mail the monthly report of one calendar month (KST).",
)
weekly_report_schedule = dg.build_schedule_from_partitioned_job(
    weekly_report_job,
    name="weekly_report_schedule",
    hour_of_day=6,
    day_of_week=1,
    description="Mondays 06:00 Korea time: the report of the week that just ended.",
)
monthly_report_schedule = dg.build_schedule_from_partitioned_job(
    monthly_report_job,
    name="monthly_report_schedule",
    hour_of_day=6,
    day_of_month=1,
    description="The 1st, 06:00 Korea time: the report of the month that just ended.",
)


@dg.asset_check(
    asset="rpt_period_segment",
    description="rpt_period_segment adds up to exactly the messages of fct_messages.",
)
def rpt_period_segment_adds_up(ums: UmsResource) -> dg.AssetCheckResult:
    try:
        with read_only_connection(ums.settings()) as con:
            row = con.execute(
                "select (select coalesce(sum(requested), 0) from rpt_period_segment), "
                "(select count(*) from fct_messages)"
            ).fetchone()
    except (duckdb.Error, FileNotFoundError) as exc:
        return dg.AssetCheckResult(passed=False, metadata={"error": str(exc)[:300]})
    summed, facts = (int(row[0]), int(row[1])) if row else (0, 0)
    return dg.AssetCheckResult(
        passed=summed == facts, metadata={"segment_sum": summed, "fct_messages": facts}
    )


defs = dg.Definitions(
    assets=[daily_report, weekly_report, monthly_report],
    asset_checks=[rpt_period_segment_adds_up],
    jobs=[daily_report_job, weekly_report_job, monthly_report_job],
    schedules=[daily_report_schedule, weekly_report_schedule, monthly_report_schedule],
)
