"""Four-eyes approval of jobs: the department head approves or rejects, never the author.

An approval stores the fingerprint of what was approved (``gate.fingerprint``): the
content version, the target count, routes, sender, send window and values. Any change
voids it: the code that changes one of those calls ``void_stale`` (or ``void_approvals``),
and the gate at send time compares fingerprints anyway (``check_job`` voids what no
longer matches, on record). A void while the job sends pauses it: its queued rows are
held until it is approved again and resumed. Every decision, void and pause is audited.

Rejection reasons are the managed list shared with content review
(``compliance.reasons``, extendable by ``UMS_REJECTION_REASONS_FILE``); "OTHER" needs a note.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.compliance.gate import (
    ApprovalRequired,
    StageBlocked,
    changes,
    fingerprint,
    needs_approval,
    require_approved,
    valid_approval,
)
from ums_pipelines.compliance.reasons import REJECTION_REASONS, check_reason
from ums_pipelines.compliance.roles import require_role
from ums_pipelines.compliance.sender_recheck import SenderStopped, recheck_sender
from ums_pipelines.compliance.stages import open_blocks
from ums_pipelines.compliance.workflow import transition
from ums_pipelines.lanes import Purpose
from ums_pipelines.settings import Settings, get_settings
from ums_pipelines.store.compliance import Approval
from ums_pipelines.store.engine import Store, utcnow
from ums_pipelines.store.models import Job, Message

__all__ = [
    "APPROVER_ROLE",
    "REJECTION_REASONS",
    "ApprovalError",
    "approve_job",
    "check_job",
    "reject_job",
    "void_approvals",
    "void_stale",
]

APPROVER_ROLE = "approver"
_CLOSED = ("cancelled", "stopped", "done")


class ApprovalError(PermissionError):
    """A decision that is refused: the author deciding, a closed job, no frozen targets."""


# Where a decision moves a bulk job in the workflow (compliance/workflow.py): a job that
# is already sending, paused or standing keeps its status, the decision is recorded.
_DECIDING = ("targeted", "pending_approval", "rejected")


def _decidable(session: Session, job_id: str, actor: str) -> Job:
    """The job, if ``actor`` may decide on it now; the reason otherwise."""
    if not actor or not actor.strip():
        raise ValueError("actor: who decides must be named")
    job = session.get(Job, job_id)
    if job is None:
        raise KeyError(f"job_id: no job {job_id!r}")
    if job.status in _CLOSED:
        raise ApprovalError(f"job {job_id} is {job.status}: there is nothing left to decide")
    if job.status == "standing" and job.purpose != Purpose.ADVERTISING.value:
        raise ApprovalError(f"job {job_id} is a standing real-time job: it is not approved")
    if job.created_by is None:
        # Four-eyes cannot be shown without knowing the first pair.
        raise ApprovalError(f"job {job_id} has no recorded author: register it again")
    if actor == job.created_by:
        raise ApprovalError(f"job {job_id}: {actor} is its author and cannot decide on it")
    require_role(session, actor, APPROVER_ROLE, job.department)
    return job


def _decision(job: Job, actor: str, decision: str, reason: str | None) -> Approval:
    return Approval(
        entity="job",
        entity_id=job.job_id,
        content_version=job.template_version,
        target_count=job.target_count,
        fingerprint=fingerprint(job),
        role=APPROVER_ROLE,
        decided_by=actor,
        decision=decision,
        reason=reason,
        decided_at=utcnow(),
    )


def approve_job(
    session: Session, job_id: str, approver: str, reason: str | None = None
) -> Approval:
    """Approve the job as it is now; the same approver approving it again changes nothing."""
    job = _decidable(session, job_id, approver)
    if job.target_count is None and job.status != "standing":
        raise ApprovalError(
            f"job {job_id} has no frozen target list: an approval is tied to the target count"
        )
    blocks = open_blocks(job)
    if blocks:  # the author's own errors first: fixed, or acknowledged by an approver
        raise ApprovalError(str(StageBlocked(job_id, blocks)))
    current = valid_approval(session, job)
    if current is not None and current.decided_by == approver:
        return current
    row = _decision(job, approver, "approved", reason)
    session.add(row)
    session.flush()
    if job.status in _DECIDING:
        transition(session, job, "approved", approver)
    audit.record(
        session,
        approver,
        "job.approved",
        "job",
        job_id,
        approval_id=row.id,
        content_version=row.content_version,
        target_count=row.target_count,
        fingerprint=row.fingerprint,
        reason=reason,
    )
    return row


def reject_job(
    session: Session, job_id: str, approver: str, code: str, note: str | None = None
) -> Approval:
    """Reject the job for a listed reason; its approvals are voided with the rejection."""
    listed = check_reason(code, note, field="reason")
    job = _decidable(session, job_id, approver)
    reason = f"{code}: {listed.en}" + (f" ({note.strip()})" if note else "")
    void_approvals(session, job_id, f"rejected by {approver} ({code})", actor=approver)
    row = _decision(job, approver, "rejected", reason)
    session.add(row)
    session.flush()
    if job.status in (*_DECIDING, "approved"):
        transition(session, job, "rejected", approver, reason=code)
    audit.record(
        session, approver, "job.rejected", "job", job_id, approval_id=row.id, code=code, note=note
    )
    return row


def _void(
    session: Session,
    voids: list[tuple[Approval, str]],
    job: Job,
    actor: str,
    settings: Settings | None,
) -> int:
    now = utcnow()
    for row, reason in voids:
        row.voided_at, row.void_reason = now, reason
        audit.record(
            session, actor, "approval.voided", "job", job.job_id, approval_id=row.id, reason=reason
        )
    if voids:
        _hold(session, job, actor, voids[0][1], settings or get_settings())
    return len(voids)


def _hold(session: Session, job: Job, actor: str, reason: str, settings: Settings) -> None:
    """A job voided while it sends is paused as ``ums job pause`` does: its queued rows
    are held (no sender, agents included, claims them) and its dispatchers stop at their
    next look; what is in flight finishes. Resume once it is approved again."""
    session.flush()
    if job.status != "dispatching" or needs_approval(job, settings) is None:
        return
    if valid_approval(session, job) is not None:
        return  # another approval of the job as it is still stands
    result = session.execute(
        update(Message)
        .where(Message.job_id == job.job_id, Message.state == "queued")
        .values(state="held", updated_at=utcnow())
    )
    held = int(result.rowcount)  # type: ignore[attr-defined]
    transition(session, job, "paused", actor, reason=reason)
    # "was" is what `ums job resume` goes back to.
    audit.record(
        session, actor, "job.paused", "job", job.job_id, held=held, was="dispatching", reason=reason
    )


def _active(session: Session, job_id: str) -> list[Approval]:
    return list(
        session.scalars(
            select(Approval).where(
                Approval.entity == "job",
                Approval.entity_id == job_id,
                Approval.decision == "approved",
                Approval.voided_at.is_(None),
            )
        )
    )


def void_approvals(
    session: Session,
    job_id: str,
    reason: str,
    actor: str = "ums",
    settings: Settings | None = None,
) -> int:
    """Void every standing approval of the job (a change, a rejection); returns how many.
    A job sending meanwhile that needs approval is paused (see ``_hold``)."""
    if not reason or not reason.strip():
        raise ValueError("reason: a void needs a reason")
    job = session.get(Job, job_id)
    if job is None:
        raise KeyError(f"job_id: no job {job_id!r}")
    return _void(session, [(r, reason) for r in _active(session, job_id)], job, actor, settings)


def void_stale(
    session: Session,
    job: Job,
    reason: str | None = None,
    actor: str = "ums",
    settings: Settings | None = None,
) -> int:
    """After a change to the job: void the approvals that no longer match it (a change
    that left the approved facts as they were voids nothing). Without a ``reason`` each
    void says what changed. A job sending meanwhile is paused as ``void_approvals`` does."""
    current = fingerprint(job)
    stale = [r for r in _active(session, job.job_id) if r.fingerprint != current]
    voids = [(r, reason or f"the job changed after approval: {changes(r, job)}") for r in stale]
    return _void(session, voids, job, actor, settings)


def check_job(store: Store, settings: Settings, job_id: str) -> None:
    """The send-time check of a bulk job: approvals it no longer matches are voided on
    record (a path that changed it may have forgotten), and a job that needs approval
    without a valid one raises ApprovalRequired, naming what it awaits. Its sender is
    checked again first: one no longer usable stops the job (``SenderStopped``)."""
    refused: ApprovalRequired | None = None
    with store.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise KeyError(f"job_id: no job {job_id!r}")
        stopped = recheck_sender(session, job)
        if stopped is not None:
            refused = SenderStopped(job_id, stopped)
        else:
            void_stale(session, job, settings=settings)
            try:
                require_approved(session, settings, job)
            except ApprovalRequired as exc:
                refused = exc
    if refused is not None:
        raise refused  # after the voids and the stop are committed
