"""Sensors: new send jobs, pending delivery receipts, MO replies, customer change files."""

import hashlib
import time

import dagster as dg
import httpx
from sqlalchemy import func, select

from assets.partitions import jobs_partitions
from sensors.jobs import customer_sync_job, dispatch_job, mo_job, receipts_job
from ums_pipelines.compliance.access import allowed
from ums_pipelines.contact.ingest import mo_waiting
from ums_pipelines.customers import pending_files
from ums_pipelines.resources import UmsResource
from ums_pipelines.store.models import Job, Message

__all__ = ["customer_files_sensor", "mo_sensor", "new_jobs_sensor", "receipts_sensor"]


@dg.sensor(
    job=dispatch_job,
    minimum_interval_seconds=15,
    description="Adds a partition per newly registered job and launches its dispatch once.",
)
def new_jobs_sensor(context: dg.SensorEvaluationContext, ums: UmsResource) -> dg.SensorResult:
    with ums.open_store() as store, store.session() as session:
        found = session.execute(
            select(Job.job_id, Job.department)
            .where(Job.status.in_(("registered", "targeted", "approved")))
            .order_by(Job.created_at)
        ).all()
        # Only jobs the service account may run: the run's assets would refuse the rest.
        ids = [i for i, dept in found if allowed(session, ums.actor, "dispatch.run", dept)]
    if len(ids) < len(found):
        context.log.warning(
            f"{len(found) - len(ids)} job(s) left: {ums.actor} lacks operator in their department"
        )
    known = set(context.instance.get_dynamic_partitions(jobs_partitions.name or "jobs"))
    new = [i for i in ids if i not in known]
    return dg.SensorResult(
        # The run key makes a job's dispatch launch once even if this sensor sees it again.
        run_requests=[dg.RunRequest(partition_key=i, run_key=f"dispatch:{i}") for i in ids],
        dynamic_partitions_requests=[jobs_partitions.build_add_request(new)] if new else [],
    )


@dg.sensor(
    job=receipts_job,
    minimum_interval_seconds=30,
    description="Polls for receipts while messages wait for them (at most one run per minute).",
)
def receipts_sensor(ums: UmsResource) -> dg.SensorResult | dg.SkipReason:
    with ums.open_store() as store, store.session() as session:
        if not allowed(session, ums.actor, "receipts.poll", None):
            return dg.SkipReason(f"{ums.actor} lacks the operator role for '*'")
        waiting = session.scalar(
            select(func.count()).select_from(Message).where(Message.state == "accepted")
        )
    if not waiting:
        return dg.SkipReason("no message is waiting for a receipt")
    minute = int(time.time() // 60)
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"receipts:{minute}")])


@dg.sensor(
    job=mo_job,
    minimum_interval_seconds=60,
    description="Every minute: launches an MO poll when replies wait at the relay or the RCS"
    " chatroom past the stored cursors (opt-outs must land before the next send).",
)
def mo_sensor(ums: UmsResource) -> dg.SensorResult | dg.SkipReason:
    settings = ums.settings()
    try:
        with ums.open_store() as store, httpx.Client(timeout=10.0) as client:
            with store.session() as session:
                if not allowed(session, ums.actor, "mo.ingest", None):
                    return dg.SkipReason(f"{ums.actor} lacks the operator role for '*'")
            waiting = mo_waiting(store, settings, client)
    except httpx.HTTPError as exc:
        return dg.SkipReason(f"MO feeds unreachable: {type(exc).__name__}")
    if not waiting:
        return dg.SkipReason("no MO reply waiting")
    minute = int(time.time() // 60)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"mo:{minute}", tags={"feeds": ",".join(waiting)})]
    )


@dg.sensor(
    job=customer_sync_job,
    minimum_interval_seconds=30,
    description="Launches a customer sync when change files are waiting in the inbox.",
)
def customer_files_sensor(ums: UmsResource) -> dg.SensorResult | dg.SkipReason:
    stamps = []
    for path in pending_files(ums.settings()):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # moved by a running sync between the listing and now
        stamps.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    if not stamps:
        return dg.SkipReason("no change file waiting")
    fingerprint = hashlib.sha256("|".join(stamps).encode()).hexdigest()[:16]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"customers:{fingerprint}", tags={"files": str(len(stamps))})
        ]
    )
