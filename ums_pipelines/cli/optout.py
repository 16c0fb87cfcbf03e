"""``ums optout confirm|due``: confirming opt-outs to customers within 14 days."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, authorized
from ums_pipelines.settings import get_settings
from ums_pipelines.store import Store

__all__ = ["optout_app"]

console = Console()
optout_app = typer.Typer(
    help="The opt-out list: confirmations owed to customers.", no_args_is_help=True
)


@optout_app.command("confirm")
def confirm(
    actor: Annotated[str, ACTOR],
    template: Annotated[
        str, typer.Option("--template", help="Informational template of the confirmation.")
    ],
    limit: Annotated[int, typer.Option(min=1, help="At most this many opt-outs.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Send the confirmation of every unconfirmed opt-out, oldest first; safe to repeat."""
    from ums_pipelines.customers.confirm import confirm_opt_outs
    from ums_pipelines.dispatch.intake import IntakeError

    settings = get_settings()
    store = Store(settings.store_url)
    try:
        authorized(store, actor, "optout.confirm")
        result = confirm_opt_outs(store, settings, template, limit)
    except IntakeError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps({"submitted": result.submitted, "refused": result.refused}))
        return
    refused = ", ".join(f"{n} ({why})" for why, n in result.refused.items()) or "none"
    console.print(f"confirmations queued: {result.submitted}; refused: {refused}")


@optout_app.command("due")
def due(
    actor: Annotated[str, ACTOR],
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """Opt-outs still owed a confirmation, with the day it is due (overdue ones first)."""
    from ums_pipelines.customers.confirm import confirmations_due
    from ums_pipelines.store.engine import utcnow

    settings = get_settings()
    store = Store(settings.store_url)
    now = utcnow()
    try:
        authorized(store, actor, "optout.due")
        with store.session() as session:
            rows = [
                {
                    "id": row.id,
                    "customer_id": row.customer_id,
                    "source": row.source,
                    "purpose": row.purpose or "all",
                    "channel": row.channel or "all",
                    "due_at": at.isoformat(),
                    "overdue": at < now,
                }
                for row, at in confirmations_due(session)
            ]
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("id", "customer", "source", "purpose", "channel", "due", "overdue")
    for r in rows:
        table.add_row(
            *(str(r[k]) for k in ("id", "customer_id", "source", "purpose")),
            str(r["channel"]),
            str(r["due_at"]),
            "yes" if r["overdue"] else "",
        )
    console.print(table)
