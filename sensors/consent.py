"""The daily job of consent notices: opt-out confirmations and 2-year reconfirmations."""

import dagster as dg

__all__ = ["consent_notices_job", "consent_notices_schedule"]

consent_notices_job = dg.define_asset_job(
    "consent_notices_job",
    selection=dg.AssetSelection.assets("optout_confirmations", "consent_reconfirm_notices"),
    description="Send the opt-out confirmations and the advertising consent reconfirmation"
    " notices that are due.",
)

# 10:00 Korea time: informational, but a notice about consent is read by day; daily keeps
# every opt-out's confirmation well inside its 14 days.
consent_notices_schedule = dg.ScheduleDefinition(
    name="consent_notices_schedule",
    job=consent_notices_job,
    cron_schedule="0 10 * * *",
    execution_timezone="Asia/Seoul",
    description="10:00 Korea time daily: opt-out confirmations (within 14 days) and the"
    " 2-year advertising consent reconfirmation notices.",
)
