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
from datetime import datetime

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.contact.feeds import FEEDS, InboundMo, parse
from ums_pipelines.contact.keywords import KeywordRule, load_keywords, match
from ums_pipelines.contact.matching import answered, customers_by_phone, phone_forms
from ums_pipelines.customers.optouts import OptOutScope, record_opt_out
from ums_pipelines.masking import mask_phone
from ums_pipelines.settings import Settings
from ums_pipelines.store.contact import MoMessage
from ums_pipelines.store.engine import Store, utcnow
from ums_pipelines.store.models import Watermark

__all__ = ["FEEDS", "InboundMo", "MoResult", "ingest_page", "mo_waiting", "poll_mo"]

log = logging.getLogger(__name__)

PAGE = 500


@dataclass
class MoResult:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    opt_out: int = 0
    care: int = 0
    unmatched: int = 0
    opt_outs_recorded: int = 0
    malformed: int = 0


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
    e164 = {mo.provider_mo_id: phone_forms(mo.sender) for mo in fresh}
    national = {key: pair[1] for key, pair in e164.items()}
    replies = answered(session, settings, fresh, national)
    by_phone = customers_by_phone(session, set(national.values()) | {p[0] for p in e164.values()})
    stored: list[MoMessage] = []
    for mo in fresh:
        number, local = e164[mo.provider_mo_id]
        reply = replies.get(mo.provider_mo_id)
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
            page = []
            for item in items:
                try:
                    page.append(parse(channel, item))
                except (KeyError, TypeError, AttributeError):
                    # Skipped, not retried: one bad item must not hold the feed back forever.
                    result.malformed += 1
                    log.warning("MO feed %s: an item without its required fields skipped", channel)
            with store.session() as session:
                ingest_page(session, settings, rules, page, result)
                cursor = int(body["nextCursor"])
                _set_mark(session, name, cursor, utcnow())
            if len(items) < PAGE:
                break
    log.info(
        "MO poll: %d fetched, %d stored (%d opt-out, %d care, %d unmatched, %d malformed)",
        result.fetched,
        result.stored,
        result.opt_out,
        result.care,
        result.unmatched,
        result.malformed,
    )
    return result


def mo_waiting(store: Store, settings: Settings, client: httpx.Client) -> list[str]:
    """The feeds with MOs past their stored cursor (one one-item read each): for a sensor
    deciding whether a poll is worth a run."""
    headers = {"Authorization": f"Bearer {settings.gateway_token}"}
    with store.session() as session:
        marks = {
            name: mark.value for name in FEEDS if (mark := session.get(Watermark, f"mo:{name}"))
        }
    waiting = []
    for channel, (_, path) in FEEDS.items():
        response = client.get(
            f"{settings.gateway_url.rstrip('/')}{path}",
            params={"cursor": int(marks.get(channel, 0)), "limit": 1},
            headers=headers,
        )
        response.raise_for_status()
        if response.json().get("messages"):
            waiting.append(channel)
    return waiting
