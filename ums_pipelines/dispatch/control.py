"""Job control: pause, resume, cancel, and resend only the failed ones.

None of them sends a delivered message again. Pause and cancel only move rows that no
sender holds (``queued``/``held``); rows claimed in flight finish, and a dispatcher that
notices the new status (its housekeeping loop) stops and hands its unsent rows back,
after which ``settle`` parks them as well. Resending the failed creates a NEW first leg
under a new wire key (``….r<round>``), only for customers whose every row is terminal
and none delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.compliance import brandlimit
from ums_pipelines.compliance.approvals import check_job
from ums_pipelines.compliance.gate import ApprovalRequired
from ums_pipelines.compliance.workflow import WorkflowError, transition
from ums_pipelines.content.plan import renderer_for, write_links
from ums_pipelines.content.render import take_links
from ums_pipelines.dispatch.bulk import claim_chunk, materialize_chunk, plan_chunks
from ums_pipelines.dispatch.claims import MESSAGES, T
from ums_pipelines.dispatch.compose import compose_row, idempotency_key
from ums_pipelines.dispatch.record import next_legs
from ums_pipelines.jobs import template_variants
from ums_pipelines.lanes import TERMINAL_STATES
from ums_pipelines.settings import Settings, get_settings
from ums_pipelines.store.engine import Store, utcnow
from ums_pipelines.store.models import AuditLog, Customer, Job
from ums_pipelines.targets import read_targets

__all__ = [
    "ControlError",
    "ControlResult",
    "cancel",
    "pause",
    "resend_failed",
    "resume",
    "round_key",
    "settle",
]

_CLOSED = ("cancelled", "stopped")


class ControlError(ValueError):
    """The action does not apply to the job in its current status."""


@dataclass
class ControlResult:
    job_id: str
    action: str
    status: str
    rows: int = 0
    detail: dict[str, int] = field(default_factory=dict)


def round_key(job_id: str, customer_id: str, send_round: int) -> str:
    """The wire key of a resend round's first leg: a new key, so the provider sends it."""
    base = idempotency_key(job_id, customer_id, 0)
    return base if send_round == 0 else f"{base}.r{send_round}"


def _job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise ControlError(f"job_id: no job {job_id!r}")
    return job


def _move(session: Session, job_id: str, states: tuple[str, ...], **values: Any) -> int:
    result = session.execute(
        update(MESSAGES)
        .where(T.job_id == job_id, T.state.in_(states))
        .values(updated_at=utcnow(), **values)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _cancel_values() -> dict[str, Any]:
    return {
        "state": "cancelled",
        "error_code": "E-CANCELLED",
        "error_reason": "job cancelled before this message was sent",
        "completed_at": utcnow(),
    }


def settle(store: Store, job_id: str) -> int:
    """Park rows handed back after a pause or cancel (a dispatcher released them queued)."""
    with store.session() as session:
        status = session.scalar(select(Job.status).where(Job.job_id == job_id))
        if status == "paused":
            return _move(session, job_id, ("queued",), state="held")
        if status == "cancelled":
            return _move(session, job_id, ("queued", "held"), **_cancel_values())
    return 0


def pause(store: Store, job_id: str, actor: str) -> ControlResult:
    with store.session() as session:
        job = _job(session, job_id)
        if job.status in (*_CLOSED, "done"):
            raise ControlError(f"job {job_id} is {job.status}; only a running job can be paused")
        was = _transition(session, job, "paused", actor)
        held = _move(session, job_id, ("queued",), state="held")
        audit.record(session, actor, "job.paused", "job", job_id, held=held, was=was)
    return ControlResult(job_id, "pause", "paused", held)


def _transition(session: Session, job: Job, to: str, actor: str) -> str:
    try:
        return transition(session, job, to, actor)
    except WorkflowError as exc:
        raise ControlError(str(exc)) from None


def _resumes_to(session: Session, job_id: str) -> str:
    """A standing (real-time) job goes back to standing, a bulk job to dispatching."""
    paused = session.scalars(
        select(AuditLog)
        .where(AuditLog.entity_id == job_id, AuditLog.action == "job.paused")
        .order_by(AuditLog.id.desc())
        .limit(1)
    ).first()
    return "standing" if paused and paused.detail.get("was") == "standing" else "dispatching"


def resume(
    store: Store, job_id: str, actor: str, settings: Settings | None = None
) -> ControlResult:
    """Requeue a paused job's held rows. A bulk job is checked by the four-eyes gate
    first: a job whose approval was voided while paused stays paused until approved."""
    with store.session() as session:
        job = _job(session, job_id)
        if job.status != "paused":
            raise ControlError(f"job {job_id} is {job.status}, not paused")
        status = _resumes_to(session, job_id)
    if status == "dispatching":
        try:
            check_job(store, settings or get_settings(), job_id)
        except ApprovalRequired as exc:
            raise ControlError(f"job {job_id} stays paused: {exc}") from None
    with store.session() as session:
        job = _job(session, job_id)
        if job.status != "paused":  # resumed or cancelled meanwhile
            raise ControlError(f"job {job_id} is {job.status}, not paused")
        _transition(session, job, status, actor)
        queued = _move(session, job_id, ("held",), state="queued")
        audit.record(session, actor, "job.resumed", "job", job_id, requeued=queued)
    return ControlResult(job_id, "resume", status, queued)


def cancel(store: Store, settings: Settings, job_id: str, actor: str) -> ControlResult:
    """Stop a job: unsent rows and unwritten splits become cancelled rows, so every target
    of the job is still accounted for by a row."""
    with store.session() as session:
        job = _job(session, job_id)
        if job.status in (*_CLOSED, "done"):
            raise ControlError(f"job {job_id} is already {job.status}")
        _transition(session, job, "cancelled", actor)
        cancelled = _move(session, job_id, ("queued", "held"), **_cancel_values())
        job.stop_reason = job.stop_reason or f"cancelled by {actor}"
    written = 0
    if job.target_count is not None:
        plan_chunks(store, job_id)  # a job never dispatched has no splits yet
        frame = None
        owner = f"cancel-{job_id}"[:64]
        while True:
            with store.session() as session:
                # Pending splits, and splits whose writer died (lease over).
                chunk = claim_chunk(session, job_id, owner, timedelta(minutes=5), utcnow())
            if chunk is None:
                break
            frame = frame if frame is not None else read_targets(settings, job_id)
            rows = materialize_chunk(
                store, settings, job_id, chunk, owner, timedelta(minutes=5), frame
            )
            written += chunk.size
            assert not rows, "a cancelled job's split is written cancelled, never claimed"
    with store.session() as session:
        # Next legs of unrenderable rows in the splits just written: cancelled too.
        cancelled += _move(session, job_id, ("queued", "held"), **_cancel_values())
        audit.record(
            session,
            actor,
            "job.cancelled",
            "job",
            job_id,
            cancelled=cancelled,
            unsent_splits=written,
        )
    return ControlResult(
        job_id, "cancel", "cancelled", cancelled + written, {"queued": cancelled, "splits": written}
    )


def _eligible(session: Session, job_id: str) -> dict[str, int]:
    """Customers whose rows are all terminal, none delivered or cancelled, some failed or
    expired: customer id -> the round to send next."""
    per: dict[str, tuple[int, bool]] = {}
    rows = session.execute(
        select(T.customer_id, T.state, T.send_round).where(T.job_id == job_id)
    ).all()
    for cid, state, send_round in rows:
        top, blocked = per.get(cid, (0, False))
        blocked = blocked or state not in TERMINAL_STATES or state in ("delivered", "cancelled")
        per[cid] = (max(top, int(send_round or 0)), blocked)
    return {cid: top + 1 for cid, (top, blocked) in per.items() if not blocked}


def resend_failed(store: Store, settings: Settings, job_id: str, actor: str) -> ControlResult:
    """A new first leg, under a new key, for each customer the job did not reach."""
    try:
        # The resent rows are queued at once: an agent serving bulk lanes could claim
        # them without a dispatcher's gate, so the approval is checked here too.
        check_job(store, settings, job_id)
    except ApprovalRequired as exc:
        raise ControlError(str(exc)) from None
    now = utcnow()
    today = now.astimezone(settings.tz).strftime("%Y-%m-%d")
    with store.session() as session:
        job = _job(session, job_id)
        if job.status in ("paused", *_CLOSED):
            raise ControlError(f"job {job_id} is {job.status}; resume it first")
        left = session.scalar(
            select(func.count())
            .select_from(MESSAGES)
            .where(T.job_id == job_id, T.state.not_in(tuple(TERMINAL_STATES)))
        )
        if left:
            raise ControlError(f"job {job_id} still has {left} messages in flight")
        rounds = _eligible(session, job_id)
        chains = dict(
            session.execute(
                select(T.customer_id, T.chain).where(
                    T.job_id == job_id, T.leg == 0, T.customer_id.in_(list(rounds))
                )
            ).all()
        )
        variants = template_variants(session, job.template_id, job.template_version)
        renderer = renderer_for(session, settings, job, now)
        rows: list[dict[str, Any]] = []
        for start in range(0, len(rounds), 1000):
            ids = list(rounds)[start : start + 1000]
            for c in session.scalars(select(Customer).where(Customer.customer_id.in_(ids))):
                chain = list(chains[c.customer_id])
                n = rounds[c.customer_id]
                key = round_key(job_id, c.customer_id, n)
                row, _ = compose_row(
                    job, variants[chain[0]], c, chain, 0, now, today, renderer=renderer, key=key
                )
                row.update(send_round=n)
                rows.append(row)
        brandlimit.gate_rows(session, settings, rows, {job_id: job.purpose}, now)
        links = take_links(rows)
        unrendered: list[int] = []
        for start in range(0, len(rows), 1000):
            inserted = session.execute(
                insert(MESSAGES).returning(T.id, T.state), rows[start : start + 1000]
            ).all()
            unrendered += [i for i, state in inserted if state == "failed"]
        write_links(session, links)
        # A first leg that cannot render goes on down its chain, as in the first round.
        next_legs(session, settings, unrendered, now)
        if rows:
            _transition(session, job, "dispatching", actor)
        audit.record(session, actor, "job.resend_failed", "job", job_id, resent=len(rows))
    return ControlResult(job_id, "resend-failed", job.status, len(rows))
