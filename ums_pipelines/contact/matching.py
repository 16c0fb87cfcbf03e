"""Matching an MO to the message it answers and to the customer whose number sent it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.contact.feeds import InboundMo
from ums_pipelines.settings import Settings
from ums_pipelines.store.models import Customer, Job, Message

__all__ = ["Answered", "answered", "customers_by_phone", "phone_forms"]

# Channels whose messages go to a phone number and can be answered from it.
_PHONE_CHANNELS = ("sms", "rcs", "alimtalk", "friendtalk", "brand")


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def phone_forms(raw: str) -> tuple[str, str]:
    """(E.164, national digits) of a number; an unparsable one stays as its digits."""
    try:
        number = phonenumbers.parse(raw, "KR")
    except phonenumbers.NumberParseException:
        return _digits(raw), _digits(raw)
    if not phonenumbers.is_valid_number(number):
        return _digits(raw), _digits(raw)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.region_code_for_number(number) != "KR":
        return e164, e164
    return e164, "0" + phonenumbers.national_significant_number(number)


@dataclass(frozen=True, slots=True)
class Answered:
    message_id: int
    customer_id: str
    purpose: str | None


def answered(
    session: Session, settings: Settings, mos: Sequence[InboundMo], national: dict[str, str]
) -> dict[str, Answered]:
    """The message each MO answers, by provider MO id; one query per way of matching."""
    replies = {mo.in_reply_to for mo in mos if mo.in_reply_to}
    found: dict[str, tuple[int, str, str]] = {}
    if replies:
        rows = session.execute(
            select(Message.provider_message_id, Message.id, Message.customer_id, Message.job_id)
            .where(Message.provider_message_id.in_(replies))
            .order_by(Message.id)
        )
        by_pmid = {pmid: (mid, cid, jid) for pmid, mid, cid, jid in rows}
        for mo in mos:
            if mo.in_reply_to in by_pmid:
                found[mo.provider_mo_id] = by_pmid[mo.in_reply_to]
    rest = [mo for mo in mos if mo.provider_mo_id not in found]
    if rest:
        oldest = min(mo.received_at for mo in rest)
        cutoff = oldest - timedelta(hours=settings.mo_match_window_hours)
        latest: dict[tuple[str, str], tuple[int, str, str, datetime]] = {}
        for mid, cid, jid, recipient, sender, sent in session.execute(
            select(
                Message.id,
                Message.customer_id,
                Message.job_id,
                Message.recipient,
                Message.sender,
                Message.submitted_at,
            ).where(
                Message.recipient.in_({national[mo.provider_mo_id] for mo in rest}),
                Message.channel.in_(_PHONE_CHANNELS),
                Message.submitted_at >= cutoff,
            )
        ):
            key = (recipient, _digits(sender or ""))
            if sent is not None and (key not in latest or latest[key][0] < mid):
                latest[key] = (mid, cid, jid, sent)
        window = timedelta(hours=settings.mo_match_window_hours)
        for mo in rest:
            hit = latest.get((national[mo.provider_mo_id], _digits(mo.recipient)))
            # Each MO has its own window: ``cutoff`` was only the widest one.
            if hit is not None and hit[3].replace(tzinfo=hit[3].tzinfo or UTC) >= (
                mo.received_at - window
            ):
                found[mo.provider_mo_id] = hit[:3]
    jobs = {j for _, _, j in found.values()}
    purposes = {
        job_id: purpose
        for job_id, purpose in session.execute(
            select(Job.job_id, Job.purpose).where(Job.job_id.in_(jobs))
        )
    }
    return {key: Answered(mid, cid, purposes.get(jid)) for key, (mid, cid, jid) in found.items()}


def customers_by_phone(session: Session, phones: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for cid, phone in session.execute(
        select(Customer.customer_id, Customer.phone)
        .where(Customer.phone.in_(phones))
        .order_by(Customer.customer_id)
    ):
        if phone is not None:
            found.setdefault(phone, []).append(cid)
    return found
