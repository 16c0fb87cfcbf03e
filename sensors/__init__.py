"""Sensors and schedules; ``defs`` is merged by ums_pipelines.definitions."""

import dagster as dg

from sensors.alerts import alerts_run_failure_sensor, alerts_run_success_sensor, alerts_sensor
from sensors.calendar import calendar_conflicts_sensor
from sensors.consent import consent_notices_job, consent_notices_schedule
from sensors.customer_db import customer_db_job, customer_db_sensor
from sensors.jobs import analytics_job, customer_sync_job, dispatch_job, mo_job, receipts_job
from sensors.operations import operations_job, operations_snapshot_schedule
from sensors.retention import retention_job, retention_schedule
from sensors.review import review_decisions_sensor
from sensors.sensors import customer_files_sensor, mo_sensor, new_jobs_sensor, receipts_sensor

__all__ = ["defs"]

analytics_schedule = dg.ScheduleDefinition(
    name="analytics_refresh",
    job=analytics_job,
    cron_schedule="*/15 * * * *",
    execution_timezone="Asia/Seoul",
    description="Refresh the Parquet export and DuckDB models every 15 minutes.",
)

defs = dg.Definitions(
    jobs=[
        dispatch_job,
        receipts_job,
        mo_job,
        customer_sync_job,
        customer_db_job,
        analytics_job,
        consent_notices_job,
        retention_job,
        operations_job,
    ],
    sensors=[
        new_jobs_sensor,
        receipts_sensor,
        mo_sensor,
        customer_files_sensor,
        customer_db_sensor,
        review_decisions_sensor,
        alerts_sensor,
        alerts_run_failure_sensor,
        alerts_run_success_sensor,
        calendar_conflicts_sensor,
    ],
    schedules=[
        analytics_schedule,
        consent_notices_schedule,
        retention_schedule,
        operations_snapshot_schedule,
    ],
)
