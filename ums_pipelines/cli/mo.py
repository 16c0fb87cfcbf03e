"""``ums mo poll|care|handle``: MO replies read once, and the customer-care queue."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, authorized
from ums_pipelines.masking import mask_phone, mask_text
from ums_pipelines.settings import get_settings
from ums_pipelines.store import Store

__all__ = ["mo_app"]

console = Console()
mo_app = typer.Typer(help="Two-way messaging: MO replies from customers.", no_args_is_help=True)


@mo_app.command("poll")
def poll(
    actor: Annotated[str, ACTOR],
    channel: Annotated[
        list[str] | None,
        typer.Option("--channel", help="Feed to read (sms, rcs); repeat for more. Default all."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Store, match and route every new MO reply once (opt-outs are recorded at once)."""
    import httpx

    from ums_pipelines.contact.ingest import FEEDS, MoResult, poll_mo

    channels = tuple(channel or FEEDS)
    bad = [c for c in channels if c not in FEEDS]
    if bad:
        console.print(f"[red]--channel[/red]: {', '.join(bad)} has no MO feed (sms, rcs)")
        raise typer.Exit(2)
    settings = get_settings()
    store = Store(settings.store_url)

    async def run() -> MoResult:
        async with httpx.AsyncClient(timeout=30.0) as client:
            return await poll_mo(store, settings, client, channels)

    try:
        authorized(store, actor, "mo.ingest")
        try:
            result = asyncio.run(run())
        except (httpx.HTTPError, ValueError) as exc:
            console.print(f"[red]MO poll failed[/red]: {type(exc).__name__}: {exc}")
            raise typer.Exit(1) from None
    finally:
        store.dispose()
    counts = dict(vars(result))
    if as_json:
        typer.echo(json.dumps(counts))
        return
    console.print(
        "MO poll: {fetched} fetched, {stored} stored, {duplicates} already had; "
        "{opt_out} opt-out ({opt_outs_recorded} recorded), {care} to customer care, "
        "{unmatched} unmatched".format(**counts)
    )


@mo_app.command("care")
def care(
    actor: Annotated[str, ACTOR],
    limit: Annotated[int, typer.Option(min=1, help="At most this many replies.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the queue as JSON.")] = False,
) -> None:
    """The customer-care queue: unhandled replies, oldest first (numbers and texts masked)."""
    from ums_pipelines.contact.care import care_queue

    settings = get_settings()
    store = Store(settings.store_url)
    try:
        authorized(store, actor, "mo.care")
        with store.session() as session:
            rows = [
                {
                    "id": mo.id,
                    "received_at": mo.received_at.isoformat(),
                    "channel": mo.channel,
                    "customer_id": mo.customer_id,
                    "number": mask_phone(mo.sender),
                    "text": mask_text(mo.text),
                    "message_id": mo.message_id,
                }
                for mo in care_queue(session, limit)
            ]
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "received", "channel", "customer", "number", "text")
    for r in rows:
        cells = (r["id"], r["received_at"], r["channel"], r["customer_id"] or "-")
        table.add_row(*(str(v) for v in cells), str(r["number"]), str(r["text"]))
    console.print(table)


@mo_app.command("handle")
def handle(
    mo_id: Annotated[int, typer.Argument(help="The reply's id (from ums mo care).")],
    actor: Annotated[str, ACTOR],
) -> None:
    """Mark a customer-care reply handled; the audit log records who and when."""
    from ums_pipelines.contact.care import mark_handled

    settings = get_settings()
    store = Store(settings.store_url)
    try:
        authorized(store, actor, "mo.handle")
        with store.session() as session:
            mark_handled(session, mo_id, actor)
    except (KeyError, ValueError) as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    finally:
        store.dispose()
    console.print(f"reply {mo_id} handled by {actor}")
