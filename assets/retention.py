"""Retention: each run carries out the purge announced by the previous run's plan (the
notice), then records the next plan; purged jobs' dynamic partitions go with their data."""

import time

import dagster as dg

from assets.partitions import jobs_partitions
from ums_pipelines.resources import UmsResource
from ums_pipelines.retention.purge import NoticeError, PurgeResult, plan_purge, purge

__all__ = ["ASSETS", "CHECKS"]

OWNERS = ["team:messaging-ops"]
KINDS = {"python", "sqlalchemy", "parquet"}


@dg.asset(
    group_name="retention",
    owners=OWNERS,
    kinds=KINDS,
    description="Weekly retention purge (docs/retention.md): carries out the newest plan"
    " recorded at least UMS_RETENTION_NOTICE_HOURS ago (message content redacted, events,"
    " 5-year rows and old audit entries archived to zstd Parquet then deleted, the analytics"
    " copy pseudonymised; legal holds skipped), then records the next plan as its notice."
    " Jobs left with no messages lose their dynamic partition.",
)
def retention_purge(
    context: dg.AssetExecutionContext, ums: UmsResource
) -> dg.MaterializeResult[None]:
    started = time.monotonic()
    settings = ums.settings()
    metadata: dict[str, object] = {}
    with ums.open_store() as store:
        ums.authorize(store, "retention.purge")
        result: PurgeResult | None
        try:
            result = purge(store, settings, actor=ums.actor)
        except NoticeError:
            result = None
        ums.authorize(store, "retention.plan")
        plan = plan_purge(store, settings, actor=ums.actor)
    removed = 0
    if result is not None:
        metadata["plan_carried_out"] = result.plan_id
        metadata |= {f"purged_{k}": v for k, v in result.counts.items()}
        metadata |= {f"archived_{k}": v for k, v in result.archived.items()}
        metadata["parquet_files_rewritten"] = result.parquet_files
        name = jobs_partitions.name or "jobs"
        for job_id in result.emptied_jobs:
            if context.instance.has_dynamic_partition(name, job_id):
                context.instance.delete_dynamic_partition(name, job_id)
                removed += 1
    else:
        metadata["plan_carried_out"] = "none due"
    metadata |= {
        "partitions_removed": removed,
        "next_plan": plan.plan_id,
        **{f"next_{k}": v for k, v in plan.counts.items()},
        "seconds": round(time.monotonic() - started, 3),
    }
    return dg.MaterializeResult(metadata=metadata)  # type: ignore[arg-type]


ASSETS = [retention_purge]
CHECKS: list[dg.AssetChecksDefinition] = []
