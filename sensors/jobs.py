"""Asset jobs that sensors and schedules launch, selected by asset key (no asset imports)."""

import dagster as dg

__all__ = ["analytics_job", "customer_sync_job", "dispatch_job", "mo_job", "receipts_job"]

dispatch_job = dg.define_asset_job(
    "dispatch_job",
    selection=dg.AssetSelection.assets("job_targets", "job_dispatch"),
    description="Freeze targets and dispatch one send job (one dynamic partition per job).",
)
receipts_job = dg.define_asset_job(
    "receipts_job",
    selection=dg.AssetSelection.assets("delivery_receipts"),
    description="Poll providers for delivery receipts and start fallback legs.",
)
mo_job = dg.define_asset_job(
    "mo_job",
    selection=dg.AssetSelection.assets("mo_replies"),
    description="Read MO replies, record opt-outs and queue the rest for customer care.",
)
customer_sync_job = dg.define_asset_job(
    "customer_sync_job",
    selection=dg.AssetSelection.assets("customer_profiles"),
    description="Apply the customer change files waiting in the inbox.",
)
analytics_job = dg.define_asset_job(
    "analytics_job",
    selection=dg.AssetSelection.groups("analytics"),
    description="Export the store to Parquet and rebuild the DuckDB models.",
)
