"""The customer's responses to the contacts of a history lookup (contact/history.py):
opens, clicks, replies and opt-outs, each tied to a contact by the strongest link there is
(see the module docstring of contact/history.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ums_pipelines.contact.history_model import OPEN_STATUSES, Contact, Reply
from ums_pipelines.store.contact import MoMessage, OptOut
from ums_pipelines.store.content import LinkClick, ShortLink
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import DeliveryEvent

__all__ = ["attach_responses"]


def _latest_before(contacts: Sequence[Contact], customer_id: str, at: datetime) -> Contact | None:
    before = [c for c in contacts if c.customer_id == customer_id and c.at <= at]
    return max(before, key=lambda c: (c.at, c.message_id), default=None)


def attach_responses(
    session: Session, contacts: list[Contact], keys_by_id: dict[int, str], window: timedelta
) -> None:
    """Fill in each contact's opens, clicks, replies and opt-out, in four queries."""
    if not contacts:
        return
    by_leg = {leg.message_id: c for c in contacts for leg in c.legs}
    keys = {keys_by_id[i]: by_leg[i] for i in by_leg}
    leg_ids = list(by_leg)
    customers = sorted({c.customer_id for c in contacts})
    start = min(c.at for c in contacts)
    end = max(c.at for c in contacts) + window
    opened = select(DeliveryEvent.message_id, DeliveryEvent.occurred_at).where(
        DeliveryEvent.message_id.in_(leg_ids), DeliveryEvent.status.in_(OPEN_STATUSES)
    )
    for message_id, occurred_at in session.execute(opened):
        c, when = by_leg[message_id], as_utc(occurred_at)
        c.opened_at = when if c.opened_at is None else min(c.opened_at, when)
    clicks = (
        select(ShortLink.message_key, LinkClick.clicked_at)
        .join(LinkClick, LinkClick.code == ShortLink.code)
        .where(ShortLink.message_key.in_(list(keys)))
        .order_by(LinkClick.clicked_at, LinkClick.id)
    )
    for key, clicked_at in session.execute(clicks):
        keys[key].clicks.append(as_utc(clicked_at))
    mo_query = (
        select(MoMessage)
        .where(
            or_(
                MoMessage.message_id.in_(leg_ids),
                MoMessage.customer_id.in_(customers)
                & (MoMessage.received_at >= start)
                & (MoMessage.received_at <= end),
            )
        )
        .order_by(MoMessage.received_at, MoMessage.id)
    )
    reply_of: dict[str, Contact] = {}
    for mo in session.scalars(mo_query):
        received = as_utc(mo.received_at)
        target = by_leg.get(mo.message_id) if mo.message_id is not None else None
        linked = target is not None
        if target is None and mo.message_id is None and mo.customer_id is not None:
            target = _latest_before(contacts, mo.customer_id, received)
            if target is not None and received > target.at + window:
                target = None
        if target is not None:
            target.replies.append(Reply(mo.id, received, mo.text, linked))
            reply_of[str(mo.id)] = target
    _opt_outs(session, contacts, customers, start, end, window, reply_of)


def _opt_outs(
    session: Session,
    contacts: list[Contact],
    customers: list[str],
    start: datetime,
    end: datetime,
    window: timedelta,
    reply_of: dict[str, Contact],
) -> None:
    query = (
        select(OptOut)
        .where(
            OptOut.customer_id.in_(customers),
            OptOut.opted_out_at >= start,
            OptOut.opted_out_at <= end,
        )
        .order_by(OptOut.opted_out_at, OptOut.id)
    )
    for row in session.scalars(query):
        at = as_utc(row.opted_out_at)
        target = reply_of.get(row.reference or "") if row.source == "mo" else None
        if target is None:
            covered = [
                c
                for c in contacts
                if c.customer_id == row.customer_id
                and c.at <= at <= c.at + window
                and (row.channel is None or row.channel in c.channels)
                and (row.purpose is None or row.purpose == c.purpose)
            ]
            target = max(covered, key=lambda c: (c.at, c.message_id), default=None)
        if target is not None and target.opted_out_at is None:
            target.opted_out_at, target.opt_out_source = at, row.source
