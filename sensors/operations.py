"""The operations snapshot every 5 minutes: real-time statistics refreshed within minutes
in the Dagster UI (the screen board itself refreshes every few seconds)."""

import dagster as dg

__all__ = ["operations_job", "operations_snapshot_schedule"]

operations_job = dg.define_asset_job(
    "operations_job",
    selection=dg.AssetSelection.assets("operations_snapshot"),
    description="Record the per-stage monitoring snapshot as asset metadata.",
)

operations_snapshot_schedule = dg.ScheduleDefinition(
    name="operations_snapshot_schedule",
    job=operations_job,
    cron_schedule="*/5 * * * *",
    execution_timezone="Asia/Seoul",
    description="Every 5 minutes: the monitoring snapshot as operations_snapshot metadata.",
)
