"""Contact history: every message a customer was sent, with what the customer did next.

One :class:`Contact` per message chain: the first leg and its fallback legs are folded
into one contact (the customer was contacted once, on the channel that finally
delivered). The store is the truth here, not the analytics export: a care-centre lookup
must show the message sent a minute ago.

The kind of sender is derived, as no column holds it (docs/history.md):

* ``test``: a test send's companion job (status ``test``); left out unless asked for.
* ``real-time``: a message asked for by another system (a ``send_requests`` row, whose
  ``caller`` names the system) or sent by a standing job.
* ``manual`` / ``back-office``: a bulk job whose content item is tagged so.
* ``campaign``: any other bulk job.

Responses, each tied to the chain by the strongest link there is:

* opened: a ``delivery_events`` row of status ``opened`` or ``read`` on any leg (only
  channels that report opens write one);
* clicked: clicks on the short links of any leg (``short_links.message_key``);
* replied: MO replies matched to a leg (``mo_messages.message_id``); an unmatched reply
  of the customer goes to the latest contact before it within the window;
* opted out: an opt-out recorded from a reply to the chain (``source='mo'``, reference
  = the MO id); otherwise the customer's opt-out within the window after the latest
  contact before it whose channel and purpose it covers.

A handful of queries per lookup, whatever the number of messages.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ums_pipelines.contact.history_model import OPEN_STATUSES, Contact, Leg, Reply
from ums_pipelines.contact.history_responses import attach_responses
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Customer, Job, Message, Template
from ums_pipelines.store.sendplane import SendRequest

__all__ = [
    "KINDS",
    "OPEN_STATUSES",
    "Contact",
    "Leg",
    "Reply",
    "contact_history",
    "customers_by_phone",
    "phone_spellings",
]

KINDS = ("campaign", "real-time", "manual", "back-office", "test")
_TAGGED_KINDS = ("manual", "back-office")
_MAX_CHAIN_ROUNDS = 8  # legs per chain are few (the route's fallback chain)


def phone_spellings(phone: str) -> list[str]:
    """The ways one Korean number may be stored: national digits, E.164, dashed."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if phone.strip().startswith("+82") or (digits.startswith("82") and len(digits) >= 11):
        digits = "0" + digits[2:].lstrip("0")
    if not 9 <= len(digits) <= 11 or not digits.startswith("0"):
        raise ValueError("phone: not a Korean phone number (9 to 11 digits starting with 0)")
    head = 2 if digits.startswith("02") else 3
    dashed = f"{digits[:head]}-{digits[head:-4]}-{digits[-4:]}"
    return sorted({digits, "+82" + digits[1:], dashed})


def customers_by_phone(session: Session, phone: str) -> list[str]:
    """Customers whose phone is ``phone`` now (several may share one number)."""
    query = select(Customer.customer_id).where(Customer.phone.in_(phone_spellings(phone)))
    return sorted(session.scalars(query))


def _chains(session: Session, found: dict[int, Message]) -> None:
    """Add the missing legs of every chain in ``found``: parents and fallbacks."""
    for _ in range(_MAX_CHAIN_ROUNDS):
        parents = {m.parent_id for m in found.values() if m.parent_id is not None} - set(found)
        query = select(Message).where(
            or_(Message.id.in_(parents), Message.parent_id.in_(list(found)))
        )
        new = [m for m in session.scalars(query) if m.id not in found]
        if not new:
            return
        found.update((m.id, m) for m in new)


def _root(found: dict[int, Message], message: Message) -> Message:
    while message.parent_id is not None and message.parent_id in found:
        message = found[message.parent_id]
    return message


def _kind(job: Job, tags: Iterable[object], request: SendRequest | None) -> str:
    if job.status == "test":
        return "test"
    if request is not None or job.status == "standing":
        return "real-time"
    for kind in _TAGGED_KINDS:
        if kind in tags:
            return kind
    return "campaign"


def _leg(m: Message) -> Leg:
    return Leg(
        message_id=m.id,
        leg=m.leg,
        channel=m.channel,
        message_type=m.message_type,
        state=m.state,
        recipient=m.recipient,
        submitted_at=as_utc(m.submitted_at) if m.submitted_at else None,
        completed_at=as_utc(m.completed_at) if m.completed_at else None,
        error_code=m.error_code,
    )


def contact_history(
    session: Session,
    customer_ids: Collection[str],
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
    *,
    recipients: Collection[str] = (),
    include_tests: bool = False,
    window: timedelta = timedelta(days=7),
) -> list[Contact]:
    """The contacts of ``customer_ids`` (and of messages sent to ``recipients``, any
    customer), newest first, at most ``limit``; ``since``/``until`` bound the first
    leg's time (``until`` exclusive). ``window``: how long after a contact a reply or an
    opt-out not linked to a message still counts as a response to it."""
    if limit < 1:
        raise ValueError(f"limit: must be at least 1, got {limit}")
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{name}: must be timezone-aware")
    if window < timedelta(0):
        raise ValueError("window: must not be negative")
    customer_ids, recipients = sorted(set(customer_ids)), sorted(set(recipients))
    if not customer_ids and not recipients:
        return []
    query = select(Message).where(
        or_(Message.customer_id.in_(customer_ids), Message.recipient.in_(recipients))
    )
    if since is not None:
        query = query.where(Message.created_at >= since)
    if until is not None:
        query = query.where(Message.created_at < until)
    # Newest first and bounded: a customer of twenty years has thousands of messages,
    # and every chain has at most a few legs (its parents are fetched below).
    query = query.order_by(Message.created_at.desc(), Message.id.desc())
    found = {m.id: m for m in session.scalars(query.limit(limit * _MAX_CHAIN_ROUNDS))}
    if not found:
        return []
    _chains(session, found)
    chains: dict[int, list[Message]] = {}
    for m in found.values():
        chains.setdefault(_root(found, m).id, []).append(m)
    jobs = {
        job.job_id: (job, tags or [])
        for job, tags in session.execute(
            select(Job, Template.tags)
            .join(Template, Template.id == Job.template_id)
            .where(Job.job_id.in_({m.job_id for m in found.values()}))
        )
    }
    requests = {
        r.message_id: r
        for r in session.scalars(select(SendRequest).where(SendRequest.message_id.in_(chains)))
    }
    contacts: list[Contact] = []
    for root_id, legs in chains.items():
        legs.sort(key=lambda m: (m.leg, m.id))
        root, last = legs[0], legs[-1]
        at = as_utc(root.created_at)
        if (since is not None and at < since) or (until is not None and at >= until):
            continue  # a leg in the window of a chain that began outside it
        job, tags = jobs[root.job_id]
        request = requests.get(root_id)
        kind = _kind(job, tags, request)
        if kind == "test" and not include_tests:
            continue
        contacts.append(
            Contact(
                message_id=root_id,
                customer_id=root.customer_id,
                at=at,
                job_id=job.job_id,
                job_name=job.name,
                kind=kind,
                caller=request.caller if request is not None else None,
                department=job.department,
                purpose=job.purpose,
                send_round=root.send_round,
                legs=[_leg(m) for m in legs],
                body=last.body,
            )
        )
    contacts.sort(key=lambda c: (c.at, c.message_id), reverse=True)
    contacts = contacts[:limit]
    attach_responses(session, contacts, {m.id: m.idempotency_key for m in found.values()}, window)
    return contacts
