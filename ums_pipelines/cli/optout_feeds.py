"""``ums optout import-080|import-kakao-blocks|push-off|list|add``: feeding the unified
opt-out list from every channel, and reading it (customers/optout_feeds.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, authorized, open_store
from ums_pipelines.customers.optout_feeds import FeedResult
from ums_pipelines.masking import mask_text
from ums_pipelines.settings import Settings

__all__ = ["add", "import_080", "import_kakao_blocks", "list_cmd", "push_off"]

console = Console()
FILE = typer.Argument(exists=True, dir_okay=False, readable=True, help="The feed's file.")
JSON = typer.Option("--json", help="Print the result as JSON.")
_T = TypeVar("_T")


def _show(result: FeedResult, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    console.print(
        f"{escape(result.name)} ({result.source}): {result.events} event(s),"
        f" {result.recorded} opt-out(s) recorded for {len(result.customers)} customer(s),"
        f" {result.already} already recorded, {len(result.unmatched)} unmatched,"
        f" {len(result.bad)} bad row(s)"
    )
    if result.bad:
        table = Table("line", "reason", title="bad rows (skipped)")
        for bad in result.bad:
            table.add_row(str(bad.line), escape(bad.reason))
        console.print(table)
    if result.unmatched:
        table = Table("line", "who (masked)", title="no customer")
        for line, who in result.unmatched:
            table.add_row(str(line), escape(who))
        console.print(table)


def _parsed(parse: Callable[[bytes, ZoneInfo], _T], file: Path, settings: Settings) -> _T:
    """The feed file parsed, or exit 2 naming why it cannot be read at all."""
    from ums_pipelines.customers.optout_files import FeedError

    try:
        return parse(file.read_bytes(), settings.tz)
    except FeedError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None


def import_080(
    file: Annotated[Path, FILE],
    actor: Annotated[str, ACTOR],
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """The 080 vendor's daily file (phone, opted_out_at[, called_number]; UTF-8 or CP949):
    every customer with the number is opted out of advertising on every channel."""
    from ums_pipelines.customers.optout_feeds import SCOPES_080, apply_phone_events
    from ums_pipelines.customers.optout_files import parse_080

    with open_store() as (store, settings):
        authorized(store, actor, "optout.import")
        events, bad = _parsed(parse_080, file, settings)
        result = apply_phone_events(
            store,
            events,
            bad,
            source="080",
            name=file.name,
            scopes=SCOPES_080,
            describe=lambda e: "080 free opt-out call" + (f" to {e.detail}" if e.detail else ""),
            actor=actor,
        )
    _show(result, as_json)


def import_kakao_blocks(
    file: Annotated[Path, FILE],
    actor: Annotated[str, ACTOR],
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """Kakao's report of users who blocked the bank's channel (phone, blocked_at,
    sender_key; CSV or JSON Lines): FriendTalk and brand advertising end for them."""
    from ums_pipelines.customers.optout_feeds import SCOPES_KAKAO_BLOCK, apply_phone_events
    from ums_pipelines.customers.optout_files import parse_kakao_blocks

    with open_store() as (store, settings):
        authorized(store, actor, "optout.import")
        events, bad = _parsed(parse_kakao_blocks, file, settings)
        result = apply_phone_events(
            store,
            events,
            bad,
            source="kakao_block",
            name=file.name,
            scopes=SCOPES_KAKAO_BLOCK,
            describe=lambda e: (
                "Kakao channel blocked" + (f" (sender key {e.detail})" if e.detail else "")
            ),
            actor=actor,
        )
    _show(result, as_json)


def push_off(
    file: Annotated[Path, FILE],
    actor: Annotated[str, ACTOR],
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """The app's push-off events (JSON Lines: customer_id or push_token, at,
    marketing_only): push opt-outs, of advertising only when marketing_only."""
    from ums_pipelines.customers.optout_feeds import apply_push_file
    from ums_pipelines.customers.optout_files import parse_push_events

    with open_store() as (store, settings):
        authorized(store, actor, "optout.import")
        events, bad = _parsed(parse_push_events, file, settings)
        result = apply_push_file(store, events, bad, name=file.name, actor=actor)
    _show(result, as_json)


def list_cmd(
    actor: Annotated[str, ACTOR],
    customer: Annotated[str | None, typer.Option("--customer", help="A customer id.")] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", help="080, mo, kakao_block, push_off, email_unsubscribe, care, ..."
        ),
    ] = None,
    include_withdrawn: Annotated[
        bool, typer.Option("--withdrawn", help="Also the opt-outs withdrawn since.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 1000,
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """The opt-out list (active ones, newest first), with references and reasons masked."""
    from ums_pipelines.customers.optout_care import list_opt_outs

    with open_store() as (store, settings):
        authorized(store, actor, "optout.list")
        with store.reading() as session:
            found = list_opt_outs(
                session,
                customer_id=customer,
                source=source,
                include_withdrawn=include_withdrawn,
                limit=limit,
            )
            rows = [
                {
                    "id": r.id,
                    "customer_id": r.customer_id,
                    "channel": r.channel or "all",
                    "purpose": r.purpose or "all",
                    "source": r.source,
                    "reference": mask_text(r.reference) if r.reference else None,
                    "reason": mask_text(r.reason) if r.reason else None,
                    "opted_out_at": r.opted_out_at.astimezone(settings.tz).isoformat(),
                    "confirmed": r.confirmed_at is not None,
                    "withdrawn": r.withdrawn_at is not None,
                }
                for r in found
            ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not console.is_terminal:
        console.width = max(console.width, 160)
    table = Table("id", "customer", "channel", "purpose", "source", "at", "reference", "reason")
    for r in rows:
        cells = [r[k] for k in ("id", "customer_id", "channel", "purpose", "source")]
        cells += [r["opted_out_at"], r["reference"] or "-", r["reason"] or "-"]
        table.add_row(*(escape(str(c)) for c in cells))
    console.print(table)
    console.print(f"{len(rows)} opt-out(s)")


def add(
    customer: Annotated[str, typer.Argument(help="The customer id.")],
    actor: Annotated[str, ACTOR],
    channel: Annotated[str, typer.Option("--channel", help="A channel, or all.")] = "all",
    purpose: Annotated[
        str, typer.Option("--purpose", help="advertising, informational, auth, or all.")
    ] = "advertising",
    reference: Annotated[
        str | None, typer.Option("--reference", help="The call-centre ticket.")
    ] = None,
) -> None:
    """Record a customer's opt-out asked for by phone or at a branch (source care)."""
    from ums_pipelines.customers.optout_care import record_manual
    from ums_pipelines.store.engine import utcnow

    with open_store() as (store, _):
        authorized(store, actor, "optout.add")
        try:
            with store.session() as session:
                row = record_manual(
                    session,
                    customer,
                    channel,
                    purpose,
                    actor=actor,
                    reference=reference,
                    note=None,
                    now=utcnow(),
                )
                recorded = None if row is None else row.id
        except ValueError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
    if recorded is None:
        console.print(f"{escape(customer)}: already opted out of {channel}/{purpose}")
    else:
        console.print(f"opt-out {recorded} recorded: {escape(customer)} {channel}/{purpose}")
