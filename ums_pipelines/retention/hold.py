"""Legal holds: while one is in place, nothing of its customer or job is redacted or deleted."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.audit import record
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.retention import LegalHold

__all__ = ["Held", "HoldError", "active_holds", "held", "place_hold", "release_hold"]


class HoldError(ValueError):
    """A hold request that cannot be done; the message names the field and why."""


@dataclass(frozen=True)
class Held:
    customers: frozenset[str]
    jobs: frozenset[str]


def place_hold(
    session: Session,
    *,
    actor: str,
    reason: str,
    customer_id: str | None = None,
    job_id: str | None = None,
) -> LegalHold:
    if not (customer_id or job_id):
        raise HoldError("customer_id/job_id: a hold needs a customer, a job, or both")
    if not reason.strip():
        raise HoldError("reason: a hold needs its reason (the case or request it serves)")
    if not actor.strip():
        raise HoldError("actor: a hold needs who placed it")
    hold = LegalHold(
        customer_id=customer_id or None,
        job_id=job_id or None,
        reason=reason.strip(),
        placed_by=actor,
        placed_at=utcnow(),
    )
    session.add(hold)
    session.flush()
    # The audit names the hold and its targets' ids, never the reason's free text.
    record(
        session,
        actor,
        "retention.hold_placed",
        "legal_hold",
        str(hold.id),
        customer_id=hold.customer_id,
        job_id=hold.job_id,
    )
    return hold


def release_hold(session: Session, hold_id: int, *, actor: str) -> LegalHold:
    hold = session.get(LegalHold, hold_id)
    if hold is None:
        raise HoldError(f"hold: no legal hold {hold_id}")
    if hold.released_at is not None:
        raise HoldError(f"hold: legal hold {hold_id} was already released")
    hold.released_by, hold.released_at = actor, utcnow()
    record(session, actor, "retention.hold_released", "legal_hold", str(hold.id))
    return hold


def active_holds(session: Session) -> list[LegalHold]:
    stmt = select(LegalHold).where(LegalHold.released_at.is_(None)).order_by(LegalHold.id)
    return list(session.scalars(stmt))


def held(session: Session) -> Held:
    holds = active_holds(session)
    return Held(
        customers=frozenset(h.customer_id for h in holds if h.customer_id),
        jobs=frozenset(h.job_id for h in holds if h.job_id),
    )
