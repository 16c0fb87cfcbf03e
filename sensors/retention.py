"""The weekly retention job: the purge noticed a week earlier, and the next notice."""

import dagster as dg

__all__ = ["retention_job", "retention_schedule"]

retention_job = dg.define_asset_job(
    "retention_job",
    selection=dg.AssetSelection.assets("retention_purge"),
    description="Carry out the due retention plan and record the next one.",
)

# Sunday 03:00 Korea time: the quietest hour of the week for the store; a week between
# plan and purge is far more notice than UMS_RETENTION_NOTICE_HOURS asks.
retention_schedule = dg.ScheduleDefinition(
    name="retention_schedule",
    job=retention_job,
    cron_schedule="0 3 * * 0",
    execution_timezone="Asia/Seoul",
    description="Sunday 03:00 Korea time: the retention purge announced a week earlier,"
    " then the next plan (the notice).",
)
