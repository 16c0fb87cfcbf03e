"""``ums mo poll``: read the MO replies waiting at the relay and the RCS chatroom once."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console

from ums_pipelines.settings import get_settings
from ums_pipelines.store import Store

__all__ = ["mo_app"]

console = Console()
mo_app = typer.Typer(help="Two-way messaging: MO replies from customers.", no_args_is_help=True)


@mo_app.command("poll")
def poll(
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
