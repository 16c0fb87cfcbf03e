"""The four-eyes gate: which jobs need the department head's approval, what an approval is
tied to, and the check every path that writes a bulk job's outbox rows makes first.

An approval is valid only while its fingerprint equals the job's current one: the
fingerprint covers the content version, the target count, the routes, the sender, the
send window and the job's values. So a change voids it even when the path that made the
change forgot to say so, and the gate names what changed.

Standing (real-time) jobs are exempt: they carry transactional and authentication
notices one request at a time, checked at intake. Cancelled and stopped jobs send
nothing, so writing their splits as cancelled rows needs no approval either.

Resending the failed (``ums job resend-failed``) needs no new approval, advertising or
not: it sends the approved content to customers of the approved list whom the job did
not reach, and leaves every approved fact (so the fingerprint) as it was. It is still
under the gate: ``ums dispatch`` refuses to send the new round once the approval is void.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.compliance.stages import open_blocks
from ums_pipelines.lanes import Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.compliance import Approval
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Job

__all__ = [
    "AWAITING_APPROVAL",
    "EXEMPT_STATUSES",
    "ApprovalRequired",
    "ApprovalState",
    "StageBlocked",
    "approval_state",
    "changes",
    "decisions",
    "fingerprint",
    "needs_approval",
    "require_approved",
    "valid_approval",
]

AWAITING_APPROVAL = "awaiting_approval"
EXEMPT_STATUSES = ("standing", "cancelled", "stopped")


class ApprovalRequired(PermissionError):
    """A job that needs the department head's approval has no valid one: it never sends."""

    status = AWAITING_APPROVAL

    def __init__(self, job_id: str, needed: str, missing: str) -> None:
        super().__init__(f"job {job_id} is {AWAITING_APPROVAL} ({needed}): {missing}")
        self.job_id, self.needed, self.missing = job_id, needed, missing


class StageBlocked(ApprovalRequired):
    """A job with a block finding of its stage checks (``compliance.stages``) that nobody
    acknowledged: it is neither approved nor sent, whether it needs approval or not."""

    status = "blocked"

    def __init__(self, job_id: str, blocks: list[dict[str, Any]]) -> None:
        names = ", ".join(str(b.get("check")) for b in blocks)
        details = "; ".join(f"{b.get('check')}: {b.get('detail')}" for b in blocks)
        PermissionError.__init__(
            self,
            f"job {job_id} is blocked by its stage checks ({details}); fix it and run"
            f" `ums job checks {job_id} --recheck`, or an approver acknowledges it"
            f" (`ums job checks {job_id} --acknowledge CHECK --actor NAME`)",
        )
        self.job_id, self.needed, self.missing = job_id, "stage checks", names
        self.blocks = blocks


def _when(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def _facts(job: Job) -> dict[str, Any]:
    """What an approver approves: the same facts give the same fingerprint, always."""
    return {
        "job_id": job.job_id,
        "template_id": job.template_id,
        "template_version": job.template_version,
        "target_count": job.target_count,
        "routes": job.routes,
        "sender_number": job.sender_number,
        "not_before": _when(job.not_before),
        "must_end_by": _when(job.expires_at),
        "params": job.params or {},
    }


def fingerprint(job: Job) -> str:
    """sha256 of the job's approved facts (key order and time zones do not matter)."""
    text = json.dumps(_facts(job), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def needs_approval(job: Job, settings: Settings) -> str | None:
    """Why the job needs the department head's approval, or None when it does not."""
    if job.status == "standing":
        # A standing job carries one request at a time, checked at intake; advertising
        # is still every advertising job: approved once per content version, routes and
        # sender (its fingerprint), before the first request goes out.
        if job.purpose == Purpose.ADVERTISING.value and settings.realtime_ad_approval:
            return "real-time advertising needs approval once per content version"
        return None
    if job.purpose == Purpose.ADVERTISING.value:
        return "every advertising job needs approval"
    if job.target_count is not None and job.target_count > settings.approval_threshold:
        return (
            f"{job.target_count:,} targets, above the approval threshold of"
            f" {settings.approval_threshold:,}"
        )
    return None


def decisions(session: Session, job_id: str) -> list[Approval]:
    """Every decision on the job, newest first (voided ones included)."""
    return list(
        session.scalars(
            select(Approval)
            .where(Approval.entity == "job", Approval.entity_id == job_id)
            .order_by(Approval.decided_at.desc(), Approval.id.desc())
        )
    )


def valid_approval(session: Session, job: Job) -> Approval | None:
    """The newest approval of the job exactly as it is now, not voided."""
    return session.scalars(
        select(Approval)
        .where(
            Approval.entity == "job",
            Approval.entity_id == job.job_id,
            Approval.decision == "approved",
            Approval.voided_at.is_(None),
            Approval.fingerprint == fingerprint(job),
        )
        .order_by(Approval.id.desc())
        .limit(1)
    ).first()


def changes(row: Approval, job: Job) -> str:
    """What differs between an approval and the job now, as far as the row tells."""
    changed = []
    if row.content_version != job.template_version:
        changed.append(f"content version {row.content_version} -> {job.template_version}")
    if row.target_count != job.target_count:
        changed.append(f"target count {row.target_count} -> {job.target_count}")
    return ", ".join(changed) or "routes, sender, send window or values"


def _missing(session: Session, job: Job) -> str:
    """What the job lacks, in words an operator can act on."""
    if job.target_count is None:
        return "its targets are not frozen yet; freeze them, then ask the department head"
    for row in decisions(session, job.job_id):
        if row.decision == "rejected" and row.voided_at is None:
            return f"rejected by {row.decided_by}: {row.reason}"
        if row.decision != "approved":
            continue
        if row.voided_at is not None:
            return f"the approval by {row.decided_by} was voided: {row.void_reason}"
        what = changes(row, job)
        return f"the job changed after {row.decided_by}'s approval ({what}); approve it again"
    return "no approval by the department head (ums approval approve JOB --actor HEAD)"


def _missing_standing(session: Session, job: Job) -> str:
    for row in decisions(session, job.job_id):
        if row.decision == "rejected" and row.voided_at is None:
            return f"rejected by {row.decided_by}: {row.reason}"
        if row.decision == "approved":
            return f"the job changed after {row.decided_by}'s approval; approve it again"
    return (
        f"no approval by the head of {job.department}"
        f" (ums approval approve {job.job_id} --actor HEAD)"
    )


def require_approved(session: Session, settings: Settings, job: Job) -> None:
    """Raise ApprovalRequired when the job needs approval and has no valid one, and
    StageBlocked (one of its kind) when a stage check blocks it, approval or not."""
    if job.status == "standing":
        needed = needs_approval(job, settings)
        if needed is None or valid_approval(session, job) is not None:
            return
        raise ApprovalRequired(job.job_id, needed, _missing_standing(session, job))
    if job.status in EXEMPT_STATUSES:
        return
    blocks = open_blocks(job)
    if blocks:
        raise StageBlocked(job.job_id, blocks)
    needed = needs_approval(job, settings)
    if needed is None or valid_approval(session, job) is not None:
        return
    raise ApprovalRequired(job.job_id, needed, _missing(session, job))


@dataclass
class ApprovalState:
    """Where a job stands: whether it needs approval, the valid approval, every decision."""

    job_id: str
    needed: str | None
    fingerprint: str
    valid: Approval | None
    missing: str | None
    history: list[Approval] = field(default_factory=list)
    # Unacknowledged block findings of the stage checks: none may be left to send.
    blocks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def may_send(self) -> bool:
        return not self.blocks and (self.needed is None or self.valid is not None)


def approval_state(session: Session, settings: Settings, job_id: str) -> ApprovalState:
    job = session.get(Job, job_id)
    if job is None:
        raise KeyError(f"job_id: no job {job_id!r}")
    needed = needs_approval(job, settings)
    valid = valid_approval(session, job)
    missing = _missing(session, job) if needed is not None and valid is None else None
    return ApprovalState(
        job_id,
        needed,
        fingerprint(job),
        valid,
        missing,
        decisions(session, job_id),
        open_blocks(job),
    )
