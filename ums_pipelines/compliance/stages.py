"""Stage checks after target extraction: the author's own errors, flagged before approval.

``extract_targets`` runs them once, in the transaction that freezes the list, so every
path (the Dagster asset, the demo, tests, scripts) goes through them. Each finding is
``{"check", "severity": "block"|"warn", "detail", "at"}`` in ``jobs.anomalies`` and in
the audit log:

- ``plan_deviation``: ``|targets - planned| / planned`` above ``UMS_PLAN_DEVIATION_WARN``
  warns, above ``UMS_PLAN_DEVIATION_BLOCK`` blocks (no planned count: no check);
- ``duplicate_recipients``: one contact (phone, e-mail or push token of the first
  channel) for several customers warns, with counts and masked examples only;
- ``budget``: the job's estimate plus the department's spent and committed money of the
  month (``compliance.budgets``) over its budget blocks; a department without a budget
  row is not checked, unless ``UMS_BUDGET_REQUIRED`` (then it blocks).

A block stops approval and sending (``gate.require_approved``) until the author fixes
the cause and the checks run again (``recheck``, ``replan``), or a holder of the
approver role other than the author acknowledges it (audited). A recheck makes new
findings: an earlier acknowledgement does not carry over to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.compliance.budgets import estimate_cost, first_channels, job_month, month_spend
from ums_pipelines.compliance.roles import require_role
from ums_pipelines.masking import mask_email, mask_phone
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Job

__all__ = [
    "BLOCK",
    "CHECKS",
    "WARN",
    "StageError",
    "acknowledge",
    "budget_finding",
    "duplicate_finding",
    "open_blocks",
    "plan_finding",
    "recheck",
    "replan",
    "run_checks",
]

BLOCK, WARN = "block", "warn"
CHECKS = ("plan_deviation", "duplicate_recipients", "budget")
APPROVER_ROLE = "approver"
_EXAMPLES = 3


class StageError(ValueError):
    """A stage action that is refused: an unknown check, the author acknowledging..."""


def _finding(check: str, severity: str, detail: str) -> dict[str, Any]:
    return {"check": check, "severity": severity, "detail": detail, "at": utcnow().isoformat()}


def plan_finding(planned: int | None, actual: int, settings: Settings) -> dict[str, Any] | None:
    if not planned:
        return None
    deviation = abs(actual - planned) / planned
    if deviation > settings.plan_deviation_block:
        severity, limit = BLOCK, settings.plan_deviation_block
    elif deviation > settings.plan_deviation_warn:
        severity, limit = WARN, settings.plan_deviation_warn
    else:
        return None
    detail = (
        f"{actual:,} targets against {planned:,} planned: {deviation:.0%} off the plan"
        f" (over {limit:.0%})"
    )
    return _finding("plan_deviation", severity, detail)


def _mask(contact: str) -> str:
    if "@" in contact:
        return mask_email(contact)
    if contact.lstrip("+").replace("-", "").isdigit():
        return mask_phone(contact)
    return contact[:4] + "***"  # a push token: not personal, still not shown whole


def duplicate_finding(contacts: Iterable[str | None]) -> dict[str, Any] | None:
    """One contact for more than one customer: how many contacts, customers, examples."""
    series = pl.Series("contact", list(contacts), dtype=pl.String).drop_nulls()
    counts = series.value_counts(sort=True)
    shared = counts.filter(pl.col("count") > 1)
    if shared.height == 0:
        return None
    customers = int(shared["count"].sum())
    examples = ", ".join(_mask(c) for c in shared["contact"].head(_EXAMPLES).to_list())
    detail = (
        f"{shared.height:,} contacts are shared by {customers:,} customers on their first"
        f" channel (e.g. {examples})"
    )
    return _finding("duplicate_recipients", WARN, detail)


def budget_finding(
    session: Session, settings: Settings, job: Job, by_first: Mapping[str, int]
) -> dict[str, Any] | None:
    month = job_month(job, settings)
    spend = month_spend(session, settings, job.department, month, exclude_job=job.job_id)
    if spend.budget is None:
        if not settings.budget_required:
            return None
        detail = f"department {job.department} has no budget for {month} (UMS_BUDGET_REQUIRED)"
        return _finding("budget", BLOCK, detail)
    estimate = estimate_cost(session, settings, job, by_first)
    total = spend.spent + spend.committed + estimate
    if total <= spend.budget:
        return None
    detail = (
        f"estimated {_won(estimate)} plus {_won(spend.spent)} spent and"
        f" {_won(spend.committed)} committed in {month} is {_won(total)}, over the"
        f" {job.department} budget of {_won(spend.budget)}"
    )
    return _finding("budget", BLOCK, detail)


def _won(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal(1)):,} KRW"


def _store(
    session: Session, job: Job, findings: list[dict[str, Any]], actor: str, *, always: bool
) -> None:
    job.anomalies = findings or None
    job.updated_at = utcnow()
    if not (findings or always):
        return  # a clean freeze: its own audit entry says enough
    audit.record(
        session,
        actor,
        "job.checked",
        "job",
        job.job_id,
        findings=[{k: f[k] for k in ("check", "severity", "detail")} for f in findings],
    )


def run_checks(
    session: Session,
    settings: Settings,
    job: Job,
    by_first: Mapping[str, int],
    contacts: Iterable[str | None],
    actor: str = "ums",
) -> list[dict[str, Any]]:
    """Every check on a job whose targets were just frozen; the findings replace the
    job's anomalies (none: NULL) and are audited (none: no entry)."""
    found = [
        plan_finding(job.planned_count, job.target_count or 0, settings),
        duplicate_finding(contacts),
        budget_finding(session, settings, job, by_first),
    ]
    findings = [f for f in found if f is not None]
    _store(session, job, findings, actor, always=False)
    return findings


def _job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise KeyError(f"job_id: no job {job_id!r}")
    if job.target_count is None:
        raise StageError(f"job {job_id}: its targets are not frozen yet; nothing to check")
    return job


def recheck(session: Session, settings: Settings, job_id: str, actor: str) -> list[dict[str, Any]]:
    """Run the plan and budget checks again (after a re-plan or a budget change); the
    duplicate finding of the frozen list stays as it was."""
    job = _job(session, job_id)
    kept = [f for f in job.anomalies or [] if f.get("check") == "duplicate_recipients"]
    by_first = first_channels(settings, job_id)
    found = [
        plan_finding(job.planned_count, job.target_count or 0, settings),
        budget_finding(session, settings, job, by_first),
    ]
    findings = kept + [f for f in found if f is not None]
    _store(session, job, findings, actor, always=True)
    return findings


def replan(
    session: Session, settings: Settings, job_id: str, planned_count: int, actor: str
) -> list[dict[str, Any]]:
    """The author's corrected plan, then the checks again."""
    if planned_count < 1:
        raise StageError(f"planned_count: {planned_count} must be 1 or more")
    job = _job(session, job_id)
    audit.record(
        session, actor, "job.replanned", "job", job_id, was=job.planned_count, now=planned_count
    )
    job.planned_count = planned_count
    return recheck(session, settings, job_id, actor)


def open_blocks(job: Job) -> list[dict[str, Any]]:
    """The job's block findings nobody has acknowledged: while any is left it never sends."""
    return [
        f
        for f in job.anomalies or []
        if f.get("severity") == BLOCK and not f.get("acknowledged_by")
    ]


def acknowledge(
    session: Session, job_id: str, check: str, actor: str, note: str | None = None
) -> dict[str, Any]:
    """An approver of the job's department, not its author, lets a block finding pass."""
    if check not in CHECKS:
        raise StageError(f"check: {check!r} is not one of {', '.join(CHECKS)}")
    if not actor or not actor.strip():
        raise StageError("actor: who acknowledges must be named")
    job = _job(session, job_id)
    if actor == job.created_by:
        raise StageError(f"job {job_id}: {actor} is its author and cannot acknowledge its checks")
    require_role(session, actor, APPROVER_ROLE, job.department)
    findings = [dict(f) for f in job.anomalies or []]
    for finding in findings:
        if finding.get("check") == check and finding.get("severity") == BLOCK:
            if finding.get("acknowledged_by"):
                return finding
            finding["acknowledged_by"] = actor
            finding["acknowledged_at"] = utcnow().isoformat()
            if note:
                finding["note"] = note
            # A new list: the JSON column is saved only when the value is replaced.
            job.anomalies, job.updated_at = findings, utcnow()
            audit.record(
                session,
                actor,
                "job.check_acknowledged",
                "job",
                job_id,
                check=check,
                detail=finding["detail"],
                note=note,
            )
            return finding
    raise StageError(f"job {job_id}: no block finding of check {check!r} to acknowledge")
