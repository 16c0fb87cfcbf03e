"""Opt-outs by hand and the list staff read: a call-centre request (source ``care``)
and ``list_opt_outs`` behind ``ums optout list``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.customers.optouts import OptOutScope, record_opt_out
from ums_pipelines.lanes import CHANNELS, Purpose
from ums_pipelines.store.contact import OptOut
from ums_pipelines.store.models import Customer

__all__ = ["list_opt_outs", "record_manual"]


def list_opt_outs(
    session: Session,
    *,
    customer_id: str | None = None,
    source: str | None = None,
    include_withdrawn: bool = False,
    limit: int = 1000,
) -> Sequence[OptOut]:
    """Opt-outs, newest first, filtered by customer and source."""
    query = select(OptOut).order_by(OptOut.recorded_at.desc(), OptOut.id.desc()).limit(limit)
    if customer_id is not None:
        query = query.where(OptOut.customer_id == customer_id)
    if source is not None:
        query = query.where(OptOut.source == source)
    if not include_withdrawn:
        query = query.where(OptOut.withdrawn_at.is_(None))
    return session.scalars(query).all()


def record_manual(
    session: Session,
    customer_id: str,
    channel: str,
    purpose: str,
    *,
    actor: str,
    reference: str | None,
    note: str | None,
    now: datetime,
) -> OptOut | None:
    """A call-centre opt-out (source ``care``); ``channel``/``purpose`` ``all`` for every
    one. ValueError names the field of bad input; None if that scope is already active."""
    if channel != "all" and channel not in CHANNELS:
        raise ValueError(f"channel: {channel!r} is not one of all, {', '.join(CHANNELS)}")
    purposes = [p.value for p in Purpose]
    if purpose != "all" and purpose not in purposes:
        raise ValueError(f"purpose: {purpose!r} is not one of all, {', '.join(purposes)}")
    if session.get(Customer, customer_id) is None:
        raise ValueError(f"customer: {customer_id!r} is not a known customer")
    scope = OptOutScope(
        None if channel == "all" else channel, None if purpose == "all" else purpose
    )
    return record_opt_out(
        session,
        customer_id,
        scope,
        source="care",
        reference=reference[:128] if reference else None,
        reason="call-centre request" + (f": {note}" if note else ""),
        at=now,
        now=now,
        actor=actor,
    )
