"""The customer-care queue: MO replies that are not an opt-out, waiting for an agent.

A reply is in the queue while ``route = 'care'`` and ``handled_at`` is NULL; an agent
marks it handled, and the audit log records who did and when.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.store.contact import MoMessage
from ums_pipelines.store.engine import utcnow

__all__ = ["care_queue", "mark_handled"]


def care_queue(session: Session, limit: int = 100) -> list[MoMessage]:
    """The oldest unhandled care replies first."""
    if limit < 1:
        raise ValueError("limit: must be at least 1")
    query = (
        select(MoMessage)
        .where(MoMessage.route == "care", MoMessage.handled_at.is_(None))
        .order_by(MoMessage.received_at, MoMessage.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def mark_handled(session: Session, mo_id: int, actor: str) -> MoMessage:
    mo = session.get(MoMessage, mo_id)
    if mo is None or mo.route != "care":
        raise KeyError(f"mo_id: no customer-care reply {mo_id}")
    if mo.handled_at is not None:
        raise ValueError(f"mo_id: reply {mo_id} was already handled")
    if not actor.strip():
        raise ValueError("actor: who handled the reply is required")
    mo.handled_at = utcnow()
    audit.record(session, actor, "mo.handled", "mo_message", str(mo.id), customer=mo.customer_id)
    return mo
