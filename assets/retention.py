"""Retention: each run carries out the purge announced by the previous run's plan (the
notice), then records the next plan; purged jobs' dynamic partitions go with their data."""

import time

import dagster as dg

from assets.partitions import jobs_partitions
from ums_pipelines.resources import UmsResource
from ums_pipelines.retention.files import stale_jobs
from ums_pipelines.retention.policy import cutoff
from ums_pipelines.retention.purge import NoticeError, PurgeResult, plan_purge, purge
from ums_pipelines.store import utcnow

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
    " Jobs left with no messages lose their dynamic partition and frozen target list;"
    " the other data classes (short links, MO replies, real-time requests, quarantined"
    " rows, change files, contact counts) follow their own UMS_RETENTION_* periods.",
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
    if result is not None:
        metadata["plan_carried_out"] = result.plan_id
        metadata |= {f"purged_{k}": v for k, v in result.counts.items()}
        metadata |= {f"archived_{k}": v for k, v in result.archived.items()}
        metadata["parquet_files_rewritten"] = result.parquet_files
    else:
        metadata["plan_carried_out"] = "none due"
    # The keys of jobs whose data is gone: this run's, and any an earlier run purged but
    # did not get to remove (it stopped between the store and the instance).
    name = jobs_partitions.name or "jobs"
    keys = list(context.instance.get_dynamic_partitions(name))
    cut = cutoff(settings, settings.retention_message_rows_days, utcnow())
    with ums.open_store() as store, store.reading() as session:
        stale = set(stale_jobs(session, keys, cut))
    stale |= set(result.emptied_jobs if result is not None else ()) & set(keys)
    for job_id in sorted(stale):
        context.instance.delete_dynamic_partition(name, job_id)
    removed = len(stale)
    metadata |= {
        "partitions_removed": removed,
        "next_plan": plan.plan_id,
        **{f"next_{k}": v for k, v in plan.counts.items()},
        "seconds": round(time.monotonic() - started, 3),
    }
    return dg.MaterializeResult(metadata=metadata)  # type: ignore[arg-type]


ASSETS = [retention_purge]
CHECKS: list[dg.AssetChecksDefinition] = []
