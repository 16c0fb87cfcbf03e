"""Per-job assets: frozen targets and the dispatch run; receipt ingestion across jobs."""

import asyncio
import time

import dagster as dg
import httpx
from sqlalchemy import func, select

from assets.partitions import jobs_partitions
from ums_pipelines.compliance.access import job_department
from ums_pipelines.dispatch.compose import idempotency_key
from ums_pipelines.dispatch.receipts import poll_receipts
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.lanes import TERMINAL_STATES
from ums_pipelines.resources import UmsResource
from ums_pipelines.store.models import Job, Message
from ums_pipelines.targets import extract_targets

__all__ = ["ASSETS", "CHECKS"]

OWNERS = ["team:messaging-ops"]
IN_FLIGHT = frozenset({"queued", "claimed", "submitted", "accepted"})


@dg.asset(
    partitions_def=jobs_partitions,
    group_name="dispatch",
    owners=OWNERS,
    kinds={"python", "parquet"},
    description="Frozen target list of one send job (Parquet), with counts per suppression reason.",
)
def job_targets(context: dg.AssetExecutionContext, ums: UmsResource) -> dg.MaterializeResult[None]:
    started = time.monotonic()
    with ums.open_store() as store:
        ums.authorize(store, "targets.freeze", job_department(context.partition_key))
        result = extract_targets(store, ums.settings(), context.partition_key)
    return dg.MaterializeResult(
        metadata={
            "targets": result.targets,
            "suppressed": result.suppressed,
            "first_leg_channels": result.by_first_channel,
            "frozen_earlier": result.frozen,
            "path": dg.MetadataValue.path(str(result.path)),
            "seconds": round(time.monotonic() - started, 3),
        }
    )


@dg.asset(
    partitions_def=jobs_partitions,
    deps=[job_targets],
    group_name="dispatch",
    owners=OWNERS,
    kinds={"python", "sqlalchemy"},
    description=(
        "Writes the job's outbox rows once (idempotent keys) and runs parallel channel "
        "senders, receipts and fallback legs until every message of the job is terminal."
    ),
)
def job_dispatch(context: dg.AssetExecutionContext, ums: UmsResource) -> dg.MaterializeResult[None]:
    job_id = context.partition_key
    settings = ums.settings()
    with ums.open_store() as store:
        ums.authorize(store, "dispatch.run", job_department(job_id))
        result = asyncio.run(
            Dispatcher(store, settings, owner=f"run-{context.run.run_id[:8]}").run_job(job_id)
        )
    if not result.terminal:
        context.log.warning(f"job {job_id}: {result.in_flight} messages still in flight")
    return dg.MaterializeResult(
        metadata={
            "status": result.status,
            "leases_lost_to_other_senders": result.lost_leases,
            "retries_by_code": result.retries,
            "accepted_by_channel": result.submitted,
            "states": result.states,
            "terminal": result.terminal,
            "rounds": result.rounds,
            "seconds": round(result.seconds, 3),
        }
    )


@dg.asset(
    group_name="dispatch",
    owners=OWNERS,
    kinds={"python", "sqlalchemy"},
    description="Polls providers for delivery receipts, applies them, starts fallback legs.",
)
def delivery_receipts(ums: UmsResource) -> dg.MaterializeResult[None]:
    started = time.monotonic()

    async def _poll() -> object:
        async with httpx.AsyncClient(timeout=30.0) as client:
            return await poll_receipts(store, ums.settings(), client)

    with ums.open_store() as store:
        ums.authorize(store, "receipts.poll")
        result = asyncio.run(_poll())
    return dg.MaterializeResult(
        metadata={
            **{k: v for k, v in vars(result).items() if isinstance(v, int)},
            "seconds": round(time.monotonic() - started, 3),
        }
    )


@dg.asset_check(asset=job_dispatch, description="No recipient got the same leg of a job twice.")
def no_duplicate_idempotency_keys(
    context: dg.AssetCheckExecutionContext, ums: UmsResource
) -> dg.AssetCheckResult:
    job_id = context.partition_key if context.has_partition_key else None
    with ums.open_store() as store, store.session() as session:
        query = select(Message.job_id, Message.customer_id, Message.leg, Message.idempotency_key)
        if job_id:
            query = query.where(Message.job_id == job_id)
        seen: set[tuple[str, str, int]] = set()
        duplicates = foreign_keys = 0
        for jid, cid, leg, key in session.execute(query):
            duplicates += (jid, cid, leg) in seen
            seen.add((jid, cid, leg))
            foreign_keys += key != idempotency_key(jid, cid, leg)
    return dg.AssetCheckResult(
        passed=duplicates == 0 and foreign_keys == 0,
        metadata={
            "duplicate_legs": duplicates,
            "keys_not_derived": foreign_keys,
            "rows": len(seen),
        },
    )


@dg.asset_check(
    asset=job_dispatch,
    description="Every message is terminal or in flight; a done job has none in flight.",
)
def messages_terminal_or_in_flight(
    context: dg.AssetCheckExecutionContext, ums: UmsResource
) -> dg.AssetCheckResult:
    job_id = context.partition_key if context.has_partition_key else None
    with ums.open_store() as store, store.session() as session:
        query = select(Message.job_id, Message.state, func.count()).group_by(
            Message.job_id, Message.state
        )
        if job_id:
            query = query.where(Message.job_id == job_id)
        counts = session.execute(query).all()
        done = set(session.scalars(select(Job.job_id).where(Job.status == "done")))
    unknown = sum(n for _, s, n in counts if s not in TERMINAL_STATES | IN_FLIGHT)
    stuck = sum(n for j, s, n in counts if j in done and s in IN_FLIGHT)
    return dg.AssetCheckResult(
        passed=unknown == 0 and stuck == 0,
        metadata={
            "unknown_state": unknown,
            "in_flight_in_done_jobs": stuck,
            "by_state": {s: int(n) for _, s, n in counts},
        },
    )


ASSETS = [job_targets, job_dispatch, delivery_receipts]
CHECKS = [no_duplicate_idempotency_keys, messages_terminal_or_in_flight]
