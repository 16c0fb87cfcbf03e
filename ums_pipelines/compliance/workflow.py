"""The job workflow: the statuses a job may be in and the moves between them, in one place.

A bulk job goes registered → targeted → pending_approval/approved → scheduled/held →
dispatching → done/partial/stopped/cancelled; a department head's rejection sends it to
rejected, from which a fixed job is targeted (or submitted) again. A real-time job is
``standing`` from its registration until it is stopped or cancelled. ``paused`` can come
between any two live statuses and goes back to dispatching (or standing).

Every code path that changes ``jobs.status`` calls ``transition``: an illegal move (a
cancelled job dispatching again, a done job paused) is refused with the reason, and each
move is written to the audit log as ``job.status`` with ``from`` and ``to``. Status
changes are rare (a handful per job), so the check stays off the hot send path.

``pending_approval`` is the stored name of what the gate calls awaiting approval: the
``jobs.status`` column holds 16 characters.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Job

__all__ = [
    "ACTION",
    "CLOSED",
    "STATUSES",
    "TRANSITIONS",
    "WorkflowError",
    "allowed",
    "transition",
]

ACTION = "job.status"

# Where a job may go from each status. "dispatching" from done and partial is
# `ums job resend-failed`; "targeted" again is a new target freeze. Any live job may be
# paused, cancelled or stopped (e.g. its sender number expired before it was sent).
_LIVE = ("cancelled", "paused", "stopped")
TRANSITIONS: dict[str, frozenset[str]] = {
    "registered": frozenset(
        {"targeted", "pending_approval", "dispatching", "standing", "rejected", *_LIVE}
    ),
    # "done" straight from targeted and the others: a job whose list froze empty.
    "targeted": frozenset(
        {"pending_approval", "approved", "scheduled", "held", "dispatching", "rejected", "done",
         *_LIVE}
    ),
    "pending_approval": frozenset({"approved", "rejected", "targeted", *_LIVE}),
    "approved": frozenset(
        {"scheduled", "held", "dispatching", "pending_approval", "targeted", "rejected", "done",
         *_LIVE}
    ),
    "rejected": frozenset({"targeted", "pending_approval", "cancelled"}),
    "scheduled": frozenset(
        {"held", "dispatching", "pending_approval", "targeted", "done", *_LIVE}
    ),
    "held": frozenset({"scheduled", "dispatching", "pending_approval", "done", *_LIVE}),
    "dispatching": frozenset({"done", "partial", *_LIVE}),
    "partial": frozenset({"dispatching", "done", *_LIVE}),
    "paused": frozenset({"dispatching", "standing", "stopped", "cancelled"}),
    "standing": frozenset(_LIVE),
    "done": frozenset({"dispatching"}),
    "stopped": frozenset(),
    "cancelled": frozenset(),
}  # fmt: skip
STATUSES: tuple[str, ...] = tuple(TRANSITIONS)
CLOSED = tuple(s for s, to in TRANSITIONS.items() if not to)


class WorkflowError(ValueError):
    """A status change the workflow does not allow; the message says from where to where."""


def allowed(current: str, to: str) -> bool:
    return to in TRANSITIONS.get(current, frozenset())


def transition(
    session: Session,
    job: Job,
    to: str,
    actor: str,
    reason: str | None = None,
    **detail: Any,
) -> str:
    """Move the job to ``to`` and audit it; returns the status it had. Moving to the
    status it already has changes and records nothing."""
    if to not in TRANSITIONS:
        raise WorkflowError(f"status: {to!r} is not one of {', '.join(STATUSES)}")
    current = job.status
    if current == to:
        return current
    # A status unknown here (written before this module) is moved on, never trapped.
    if current in TRANSITIONS and not allowed(current, to):
        nexts = ", ".join(sorted(TRANSITIONS[current])) or "none, it is closed"
        raise WorkflowError(
            f"status: job {job.job_id} cannot go from {current} to {to} (from {current}: {nexts})"
        )
    job.status, job.updated_at = to, utcnow()
    moved = {"from": current, "to": to, "reason": reason, **detail}
    audit.record(
        session,
        actor,
        ACTION,
        "job",
        job.job_id,
        **{k: v for k, v in moved.items() if v is not None},
    )
    return current
