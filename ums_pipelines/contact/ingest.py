"""Reading MO replies from the relay and the RCS chatroom, and routing each one.

``poll_mo`` reads each feed from its stored cursor (``Watermark`` ``mo:<channel>``) and,
page by page in one transaction with the cursor, stores each MO once (unique provider +
provider MO id), normalises the number to E.164, matches the reply to the message it
answers (by the provider's message id when the MO carries one, else the latest message
sent to that number from that bank number within ``Settings.mo_match_window_hours``),
finds the customer, and routes it by keyword: an opt-out is recorded at once (scoped to
the answered job's purpose), anything else waits in the customer-care queue
(``route='care'``), and an MO from a number no customer has is ``unmatched``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.contact.keywords import KeywordRule, load_keywords, match
from ums_pipelines.customers.optouts import OptOutScope, record_opt_out
from ums_pipelines.gateway_sim import codes
from ums_pipelines.masking import mask_phone
from ums_pipelines.settings import Settings
from ums_pipelines.store.contact import MoMessage
from ums_pipelines.store.engine import Store, utcnow
from ums_pipelines.store.models import Customer, Job, Message, Watermark

__all__ = ["FEEDS", "InboundMo", "MoResult", "ingest_page", "poll_mo"]

log = logging.getLogger(__name__)

PAGE = 500
# channel -> (provider, feed path); the feeds' shapes differ, see _parse.
FEEDS: dict[str, tuple[str, str]] = {
    "sms": (codes.RELAY, "/sms/v1/mo"),
    "rcs": (codes.RCS, "/rcs/v1/chatbots/mo"),
}
# Channels whose messages go to a phone number and can be answered from it.
_PHONE_CHANNELS = ("sms", "rcs", "alimtalk", "friendtalk", "brand")


@dataclass(frozen=True, slots=True)
class InboundMo:
    provider: str
    channel: str
    provider_mo_id: str
    sender: str  # as the provider gave it
    recipient: str
    text: str
    in_reply_to: str | None
    received_at: datetime


@dataclass
class MoResult:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    opt_out: int = 0
    care: int = 0
    unmatched: int = 0
    opt_outs_recorded: int = 0


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _numbers(raw: str) -> tuple[str, str]:
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


def _time(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return utcnow()
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse(channel: str, item: dict[str, Any]) -> InboundMo:
    provider = FEEDS[channel][0]
    if channel == "rcs":
        body = item.get("body") or {}
        return InboundMo(
            provider,
            channel,
            str(item["messageId"]),
            str(item["userContact"]),
            str(item["chatbotId"]),
            str(body.get("text") or ""),
            item.get("replyToMessageId"),
            _time(item.get("receivedAt")),
        )
    return InboundMo(
        provider,
        channel,
        str(item["moKey"]),
        str(item["from"]),
        str(item["callback"]),
        str(item.get("text") or ""),
        item.get("inReplyTo"),
        _time(item.get("receivedAt")),
    )


@dataclass(frozen=True, slots=True)
class _Answered:
    message_id: int
    customer_id: str
    purpose: str | None


def _answered(
    session: Session, settings: Settings, mos: Sequence[InboundMo], national: dict[str, str]
) -> dict[str, _Answered]:
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
    return {key: _Answered(mid, cid, purposes.get(jid)) for key, (mid, cid, jid) in found.items()}


def _customers_by_phone(session: Session, numbers: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for cid, phone in session.execute(
        select(Customer.customer_id, Customer.phone)
        .where(Customer.phone.in_(numbers))
        .order_by(Customer.customer_id)
    ):
        if phone is not None:
            found.setdefault(phone, []).append(cid)
    return found


def ingest_page(
    session: Session,
    settings: Settings,
    rules: tuple[KeywordRule, ...],
    page: Sequence[InboundMo],
    result: MoResult,
    now: datetime | None = None,
) -> list[MoMessage]:
    """Store and route one page of MOs (in the caller's transaction)."""
    now = now or utcnow()
    result.fetched += len(page)
    unique = list({(mo.provider, mo.provider_mo_id): mo for mo in page}.values())
    known = {
        (provider, mo_id)
        for provider, mo_id in session.execute(
            select(MoMessage.provider, MoMessage.provider_mo_id).where(
                MoMessage.provider_mo_id.in_([mo.provider_mo_id for mo in unique])
            )
        )
    }
    fresh = [mo for mo in unique if (mo.provider, mo.provider_mo_id) not in known]
    result.duplicates += len(page) - len(fresh)
    if not fresh:
        return []
    e164 = {mo.provider_mo_id: _numbers(mo.sender) for mo in fresh}
    national = {key: pair[1] for key, pair in e164.items()}
    answered = _answered(session, settings, fresh, national)
    by_phone = _customers_by_phone(session, set(national.values()) | {p[0] for p in e164.values()})
    stored: list[MoMessage] = []
    for mo in fresh:
        number, local = e164[mo.provider_mo_id]
        reply = answered.get(mo.provider_mo_id)
        customers = [reply.customer_id] if reply else by_phone.get(local) or by_phone.get(number)
        rule = match(mo.text, rules)
        route = "unmatched" if not customers else rule.route if rule is not None else "care"
        row = MoMessage(
            provider=mo.provider,
            channel=mo.channel,
            provider_mo_id=mo.provider_mo_id,
            sender=number[:32],
            recipient=mo.recipient[:32],
            text=mo.text,
            received_at=mo.received_at,
            recorded_at=now,
            message_id=reply.message_id if reply else None,
            customer_id=customers[0] if customers else None,
            keyword=rule.keyword if rule else None,
            route=route,
            handled_at=now if route == "opt_out" else None,
        )
        session.add(row)
        session.flush()
        stored.append(row)
        setattr(result, route, getattr(result, route) + 1)
        if route != "opt_out" or rule is None:
            continue
        # The keyword's own scope wins; else the purpose of what the customer answered,
        # and with nothing answered, every purpose.
        purpose = rule.purpose or (reply.purpose if reply else None)
        for customer_id in customers or []:
            recorded = record_opt_out(
                session,
                customer_id,
                OptOutScope(channel=rule.channel, purpose=purpose),
                source="mo",
                reference=str(row.id),
                reason=f"MO reply with keyword {rule.keyword!r}"
                + (f" to message {reply.message_id}" if reply else ""),
                at=mo.received_at,
                now=now,
                mo_id=row.id,
                provider=mo.provider,
                provider_mo_id=mo.provider_mo_id,
                keyword=rule.keyword,
                number=mask_phone(number),
                answered_message_id=reply.message_id if reply else None,
            )
            result.opt_outs_recorded += recorded is not None
    result.stored += len(stored)
    return stored


def _set_mark(session: Session, name: str, cursor: int, now: datetime) -> None:
    mark = session.get(Watermark, name)
    if mark is None:
        session.add(Watermark(name=name, value=str(cursor), updated_at=now))
    else:
        mark.value, mark.updated_at = str(cursor), now


async def poll_mo(
    store: Store,
    settings: Settings,
    client: httpx.AsyncClient,
    channels: Sequence[str] = tuple(FEEDS),
) -> MoResult:
    """Read every new MO of ``channels`` once; each page commits with its cursor."""
    rules = load_keywords(settings.mo_keywords_file)
    result = MoResult()
    headers = {"Authorization": f"Bearer {settings.gateway_token}"}
    for channel in channels:
        if channel not in FEEDS:
            raise ValueError(f"channels: {channel!r} has no MO feed (one of {', '.join(FEEDS)})")
        name = f"mo:{channel}"
        with store.session() as session:
            mark = session.get(Watermark, name)
            cursor = int(mark.value) if mark else 0
        while True:
            response = await client.get(
                f"{settings.gateway_url.rstrip('/')}{FEEDS[channel][1]}",
                params={"cursor": cursor, "limit": PAGE},
                headers=headers,
            )
            response.raise_for_status()
            body = response.json()
            items = body.get("messages", [])
            if not items:
                break
            page = [_parse(channel, item) for item in items]
            with store.session() as session:
                ingest_page(session, settings, rules, page, result)
                cursor = int(body["nextCursor"])
                _set_mark(session, name, cursor, utcnow())
            if len(items) < PAGE:
                break
    log.info(
        "MO poll: %d fetched, %d stored (%d opt-out, %d care, %d unmatched)",
        result.fetched,
        result.stored,
        result.opt_out,
        result.care,
        result.unmatched,
    )
    return result
