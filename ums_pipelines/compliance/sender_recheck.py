"""The sender, checked again when a job is dispatched, not only when it was registered.

A caller number registered, active and valid when the job was registered may have been
deactivated or may have expired since (Telecommunications Business Act: only a
registered number the bank owns may be the caller number). ``check_job`` (the gate every
dispatcher run, resume and resend-failed passes) calls ``recheck_sender``: a job whose
number is no longer usable over its window is stopped, for good, with the registry's
reason; its unsent rows are cancelled, and the stop is audited. The operator registers
a valid number and registers the job again.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.compliance import senders
from ums_pipelines.compliance.gate import ApprovalRequired
from ums_pipelines.compliance.workflow import CLOSED, transition
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Job, Message

__all__ = ["ERROR_CODE", "SenderStopped", "recheck_sender"]

ERROR_CODE = "E-SENDER"


class SenderStopped(ApprovalRequired):
    """The job's sender is no longer usable: the job is stopped and sends nothing. One of
    ApprovalRequired's kind, so every caller of the gate refuses it the same way."""

    status = "stopped"

    def __init__(self, job_id: str, reason: str) -> None:
        PermissionError.__init__(self, f"job {job_id} is stopped: {reason}")
        self.job_id, self.needed, self.missing = job_id, "a usable sender", reason


def recheck_sender(session: Session, job: Job) -> str | None:
    """Stop the job when its caller number is no longer usable; returns why, or None.
    Standing (real-time) jobs are left to intake, closed and done jobs send nothing."""
    if job.status in (*CLOSED, "done", "standing"):
        return None
    now = utcnow()
    try:
        senders.usable(
            session, "number", job.sender_number,
            not_before=job.not_before, must_end_by=job.expires_at, now=now,
        )  # fmt: skip
        return None
    except senders.SenderError as exc:
        reason = str(exc)
    transition(session, job, "stopped", "ums", reason=reason)
    job.stop_reason = f"stopped at dispatch: {reason}"
    gone = {
        "state": "cancelled",
        "error_code": ERROR_CODE,
        "error_reason": "job stopped: its sender number is no longer usable",
        "completed_at": now,
        "updated_at": now,
    }
    result = session.execute(
        update(Message)
        .where(Message.job_id == job.job_id, Message.state.in_(("queued", "held")))
        .values(**gone)
    )
    cancelled = int(result.rowcount)  # type: ignore[attr-defined]
    audit.record(session, "ums", "job.stopped", "job", job.job_id, reason=reason,
                 cancelled=cancelled)  # fmt: skip
    return reason
