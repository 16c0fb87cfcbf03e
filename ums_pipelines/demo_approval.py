"""Four-eyes in ``ums demo``: the author registers the job, its department head approves
exactly the frozen target list and content version."""

from __future__ import annotations

from ums_pipelines.compliance.approvals import approve_job
from ums_pipelines.compliance.gate import needs_approval, valid_approval
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.demo import DEMO_JOB_ID
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store
from ums_pipelines.store.models import Job

__all__ = [
    "DEMO_ADMIN",
    "DEMO_HEAD",
    "approve_demo_job",
    "approve_standing_ads",
    "seed_demo_staff",
]

DEMO_HEAD = "demo-head"
DEMO_ADMIN = "demo-admin"  # grants the demo's roles, as an admin would at deployment
_CLOSED = ("done", "cancelled", "stopped")


def seed_demo_staff(store: Store) -> None:
    """The roles the demo's steps need (docs/compliance.md): the Dagster service account
    runs every department's jobs as operator. Granting again changes nothing."""
    from ums_pipelines.compliance.access import SERVICE_ACCOUNT
    from ums_pipelines.compliance.roles import ALL_DEPARTMENTS

    with store.session() as session:
        grant_role(session, SERVICE_ACCOUNT, "operator", ALL_DEPARTMENTS, granted_by=DEMO_ADMIN)


def approve_demo_job(store: Store, settings: Settings) -> str:
    """Freeze the demo job's targets and have the department head approve them (once);
    returns the line the demo prints. A job from before four-eyes (no recorded author)
    or already finished is reported, not approved."""
    from ums_pipelines.targets import extract_targets  # Polars: not at CLI start-up

    extract_targets(store, settings, DEMO_JOB_ID)
    with store.session() as session:
        job = session.get(Job, DEMO_JOB_ID)
        if job is None:
            raise KeyError(f"job_id: no job {DEMO_JOB_ID!r}")
        row = valid_approval(session, job)
        if row is None and job.status not in _CLOSED and job.created_by:
            grant_role(session, DEMO_HEAD, "approver", job.department, granted_by=DEMO_ADMIN)
            row = approve_job(session, DEMO_JOB_ID, DEMO_HEAD, "demo: list and content checked")
        needed = needs_approval(job, settings)
        why = f"required: {needed}" if needed else "optional at this size"
        if row is None:
            return f"four-eyes  {DEMO_JOB_ID}: no approval ({why})"
        return (
            f"four-eyes  {DEMO_JOB_ID}: by {job.created_by}, approved by {row.decided_by}"
            f" ({job.department} head), v{row.content_version} x {row.target_count:,} targets;"
            f" {why}"
        )


def approve_standing_ads(
    store: Store, settings: Settings, template_codes: list[str], sender: str
) -> list[str]:
    """Real-time advertising goes out only under an approved standing job: the demo's
    department head approves the standing job of each advertising template (once per
    content version); returns the approved job ids."""
    from ums_pipelines.dispatch.standing import standing_job

    approved = []
    for code in template_codes:
        job_id = standing_job(store, code, None, sender)
        with store.session() as session:
            job = session.get(Job, job_id)
            assert job is not None
            if needs_approval(job, settings) is None:
                continue
            if valid_approval(session, job) is None:
                grant_role(session, DEMO_HEAD, "approver", job.department, granted_by=DEMO_ADMIN)
                approve_job(session, job_id, DEMO_HEAD, "demo: real-time advertising checked")
            approved.append(job_id)
    return approved
