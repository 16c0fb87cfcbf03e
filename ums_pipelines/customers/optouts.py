"""The unified opt-out list: recording opt-outs, and who is opted out of what.

An opt-out has a scope: ``channel`` and ``purpose`` NULL mean every channel and every
purpose. It stays active until ``withdrawn_at`` is set. Target extraction asks
``active_opt_outs`` once per job; a sender about to send asks ``is_opted_out`` for one
customer, or ``opted_out_among`` for a claimed batch, so an opt-out recorded after
targeting still stops a send.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.dispatch import lastmile
from ums_pipelines.store.contact import OptOut

__all__ = [
    "ALL",
    "OptOutScope",
    "active_opt_outs",
    "covers",
    "is_opted_out",
    "opted_out_among",
    "record_opt_out",
]

# In a customer's set of opted-out channels: every channel.
ALL = "*"


@dataclass(frozen=True, slots=True)
class OptOutScope:
    channel: str | None = None  # None: every channel
    purpose: str | None = None  # None: every purpose


def _active(purpose: str) -> Any:
    return and_(
        OptOut.withdrawn_at.is_(None), or_(OptOut.purpose.is_(None), OptOut.purpose == purpose)
    )


def active_opt_outs(
    session: Session, purpose: str, channels: Collection[str]
) -> dict[str, set[str]]:
    """Customers with an active opt-out of ``purpose`` on any of ``channels``.

    Maps customer id -> the channels opted out of (``ALL`` for every channel)."""
    query = select(OptOut.customer_id, OptOut.channel).where(
        _active(purpose), or_(OptOut.channel.is_(None), OptOut.channel.in_(list(channels)))
    )
    found: dict[str, set[str]] = {}
    for customer_id, channel in session.execute(query):
        found.setdefault(customer_id, set()).add(channel or ALL)
    return found


def covers(opted: Collection[str], channel: str) -> bool:
    """Whether a customer's opted-out channels (from ``active_opt_outs``) cover ``channel``."""
    return ALL in opted or channel in opted


def is_opted_out(session: Session, customer_id: str, channel: str, purpose: str) -> bool:
    """The last-mile check: is this customer opted out of this channel for this purpose?"""
    query = select(OptOut.id).where(
        OptOut.customer_id == customer_id,
        _active(purpose),
        or_(OptOut.channel.is_(None), OptOut.channel == channel),
    )
    return session.execute(query.limit(1)).first() is not None


def opted_out_among(
    session: Session, customer_ids: Collection[str], channel: str, purpose: str
) -> set[str]:
    """``is_opted_out`` for a claimed batch: the ones of ``customer_ids`` opted out of
    ``channel`` for ``purpose``, in one query per thousand ids."""
    ids = sorted(set(customer_ids))
    found: set[str] = set()
    for start in range(0, len(ids), 1000):
        query = select(OptOut.customer_id).where(
            OptOut.customer_id.in_(ids[start : start + 1000]),
            _active(purpose),
            or_(OptOut.channel.is_(None), OptOut.channel == channel),
        )
        found.update(session.scalars(query))
    return found


def record_opt_out(
    session: Session,
    customer_id: str,
    scope: OptOutScope,
    *,
    source: str,
    reference: str | None,
    reason: str,
    at: datetime,
    now: datetime,
    actor: str = "ums",
    **audit_detail: Any,
) -> OptOut | None:
    """Add an opt-out and its audit entry; None if an active one of this scope exists."""
    same = select(OptOut.id).where(
        OptOut.customer_id == customer_id,
        OptOut.withdrawn_at.is_(None),
        OptOut.channel.is_(None) if scope.channel is None else OptOut.channel == scope.channel,
        OptOut.purpose.is_(None) if scope.purpose is None else OptOut.purpose == scope.purpose,
    )
    if session.execute(same.limit(1)).first() is not None:
        return None
    row = OptOut(
        customer_id=customer_id,
        channel=scope.channel,
        purpose=scope.purpose,
        source=source,
        reference=reference,
        reason=reason,
        opted_out_at=at,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    # Queued messages it covers stop with it (dispatch/lastmile: senders check the rest).
    lastmile.stop_for_customers(session, [customer_id], now)
    audit.record(
        session,
        actor,
        "optout.recorded",
        "customer",
        customer_id,
        opt_out_id=row.id,
        source=source,
        reference=reference,
        reason=reason,
        channel=scope.channel or "all",
        purpose=scope.purpose or "all",
        **audit_detail,
    )
    return row
