"""``ums history --customer ID | --phone N``: one customer's contacts across every channel
and sender, with the responses (docs/history.md).

Masked by default: the care centre needs to see that a message went and what the customer
did, not the number or the text. ``--show-personal-data`` needs the ``history.unmask``
role and is audited (``history.unmasked``).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from ums_pipelines.cli.common import ACTOR, authorized, open_store
from ums_pipelines.contact.history import (
    Contact,
    contact_history,
    customers_by_phone,
    phone_spellings,
)
from ums_pipelines.masking import mask_email, mask_name, mask_phone, mask_text
from ums_pipelines.store.models import Customer

__all__ = ["history", "mask_recipient"]

PREVIEW = 30  # characters of the text shown
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _console() -> Console:
    # Made when printing: COLUMNS is read then (CliRunner and xdist set it per test).
    return Console(soft_wrap=True, highlight=False)


def _fail(message: str) -> typer.Exit:
    _console().print(f"[red]{escape(message)}[/red]")
    return typer.Exit(2)


def _day(field: str, value: str | None, tz: ZoneInfo, *, end: bool) -> datetime | None:
    """A KST calendar day: ``--since`` from its start, ``--until`` through its end."""
    if value is None:
        return None
    try:
        # fromisoformat also takes 20261120: the option says YYYY-MM-DD, so only that.
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{field}: {value!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day + timedelta(days=1 if end else 0), time(), tz)


def mask_recipient(recipient: str) -> str:
    """An address of any channel, masked: a phone, an e-mail, or a token's first 4."""
    if "@" in recipient:
        return mask_email(recipient)
    if sum(ch.isdigit() for ch in recipient) >= 9 and len(recipient) <= 20:
        return mask_phone(recipient)
    return f"{recipient[:4]}***" if len(recipient) > 8 else "***"


def _preview(body: str, names: list[str], unmasked: bool) -> str:
    text = " ".join(body.split())
    if not unmasked:
        # A personalised text holds the customer's name, which mask_text cannot know.
        for name in names:
            text = text.replace(name, mask_name(name))
        text = mask_text(text)
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"


def _responses(c: Contact) -> list[str]:
    said = ["opened"] if c.opened_at else []
    said += [f"clicked×{len(c.clicks)}"] if c.clicks else []
    said += [f"replied×{len(c.replies)}"] if c.replies else []
    return said + ([f"opted out ({c.opt_out_source})"] if c.opted_out_at else [])


def _row(c: Contact, names: list[str], unmasked: bool, tz: ZoneInfo) -> dict[str, Any]:
    def local(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat(timespec="seconds") if value else None

    recipient = c.final.recipient
    return {
        "message_id": c.message_id,
        "customer_id": c.customer_id,
        "at": local(c.at),
        "job_id": c.job_id,
        "job_name": c.job_name,
        "kind": c.kind,
        "caller": c.caller,
        "department": c.department,
        "purpose": c.purpose,
        "channels": list(c.channels),
        "state": c.state,
        "delivered_channel": c.delivered_channel,
        "delivered_at": local(c.delivered_at),
        "recipient": recipient if unmasked else mask_recipient(recipient),
        "preview": _preview(c.body, names, unmasked),
        "opened_at": local(c.opened_at),
        "clicks": [local(t) for t in c.clicks],
        "replies": [
            {
                "at": local(r.received_at),
                "linked": r.linked,
                "text": r.text if unmasked else _preview(r.text, names, False),
            }
            for r in c.replies
        ],
        "opted_out_at": local(c.opted_out_at),
        "opt_out_source": c.opt_out_source,
        "responses": _responses(c),
    }


def history(
    actor: Annotated[str, ACTOR],
    customer: Annotated[str | None, typer.Option("--customer", help="A customer id.")] = None,
    phone: Annotated[
        str | None,
        typer.Option("--phone", help="A phone number: its customers and what was sent to it."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From this day (YYYY-MM-DD, Korea time).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Through this day (YYYY-MM-DD, Korea time).")
    ] = None,
    tests: Annotated[bool, typer.Option("--tests", help="Also test sends.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print the contacts as JSON.")] = False,
    show_personal_data: Annotated[
        bool,
        typer.Option(help="Print numbers and texts unmasked (needs history.unmask; audited)."),
    ] = False,
) -> None:
    """One customer's contacts across channels and senders, with the responses.

    Exit status: 0 shown (even none), 1 refused, 2 bad input."""
    if (customer is None) == (phone is None):
        raise _fail("give exactly one of --customer and --phone")
    recipients: list[str] = []
    if phone is not None:
        try:
            recipients = phone_spellings(phone)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    with open_store() as (store, settings):
        tz = settings.tz
        start, end = _day("since", since, tz, end=False), _day("until", until, tz, end=True)
        authorized(store, actor, "history.view")
        if show_personal_data:
            authorized(store, actor, "history.unmask")
        with store.reading() as session:
            ids = [customer] if customer is not None else customers_by_phone(session, recipients[0])
            found = contact_history(
                session,
                ids,
                start,
                end,
                limit,
                recipients=recipients,
                include_tests=tests,
                window=timedelta(days=settings.history_response_days),
            )
            who = sorted({*ids, *(c.customer_id for c in found)})
            people = {
                p.customer_id: p
                for p in session.scalars(select(Customer).where(Customer.customer_id.in_(who)))
            }
        if show_personal_data:
            from ums_pipelines.audit import record

            with store.session() as session:
                entity, entity_id = (
                    ("customer", customer)
                    if customer is not None
                    else ("phone", mask_phone(recipients[0]))
                )
                record(
                    session,
                    actor.strip()[:64],
                    "history.unmasked",
                    entity,
                    entity_id[:64],
                    contacts=len(found),
                    customers=who[:50],
                )
    names = [p.name for p in people.values() if p.name]
    rows = [_row(c, names, show_personal_data, tz) for c in found]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    console = _console()
    if not console.is_terminal:
        console.width = max(console.width, 180)
    for cid in who:
        p = people.get(cid)
        name = (p.name if show_personal_data else mask_name(p.name)) if p and p.name else "-"
        number = (p.phone if show_personal_data else mask_phone(p.phone)) if p and p.phone else "-"
        console.print(f"customer {escape(cid)}: {escape(name)}, {escape(number)}")
    table = Table(
        "at",
        "customer",
        "job",
        "kind",
        "purpose",
        "channels",
        "state",
        "delivered",
        "to",
        "responses",
        "text",
    )
    for r in rows:
        kind = f"{r['kind']} ({r['caller']})" if r["caller"] else r["kind"]
        cells = [
            r["at"],
            r["customer_id"],
            r["job_id"],
            kind,
            r["purpose"],
            "→".join(r["channels"]),
            r["state"],
            r["delivered_at"] or "-",
            r["recipient"],
            ", ".join(r["responses"]) or "-",
            r["preview"],
        ]
        table.add_row(*(escape(str(c)) for c in cells))
    console.print(table)
    console.print(f"{len(rows)} contact(s)")
