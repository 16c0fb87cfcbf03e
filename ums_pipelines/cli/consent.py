"""``ums consent reconfirm-notices|due``: advertising consents reconfirmed every 2 years."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, acting, open_store

__all__ = ["consent_app"]

console = Console()
consent_app = typer.Typer(
    help="Advertising consents: the 2-year reconfirmation notices.", no_args_is_help=True
)


@consent_app.command("reconfirm-notices")
def reconfirm_notices(
    actor: Annotated[str, ACTOR],
    template: Annotated[
        str, typer.Option("--template", help="Informational template of the notice.")
    ],
    limit: Annotated[int, typer.Option(min=1, help="At most this many new notices.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Tell every customer whose advertising consent lapses within the notice period
    (UMS_AD_RECONFIRM_NOTICE_DAYS) that it will; oldest first, safe to repeat."""
    from ums_pipelines.customers.reconfirm import send_reconfirm_notices
    from ums_pipelines.dispatch.intake import IntakeError

    with open_store() as (store, settings), acting(store, actor, "consent.reconfirm"):
        try:
            result = send_reconfirm_notices(store, settings, template, limit)
        except IntakeError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    counts = {"submitted": result.submitted, "already": result.already, "refused": result.refused}
    if as_json:
        typer.echo(json.dumps(counts))
        return
    refused = ", ".join(f"{n} ({why})" for why, n in result.refused.items()) or "none"
    console.print(
        f"notices queued: {result.submitted}; sent earlier: {result.already}; refused: {refused}"
    )


@consent_app.command("due")
def due(
    actor: Annotated[str, ACTOR],
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """Advertising consents lapsing within the notice period or lapsed, oldest first,
    with their notice's state (pending, sent, refused)."""
    from ums_pipelines.customers.reconfirm import reconfirmations_due
    from ums_pipelines.store.engine import utcnow

    now = utcnow()
    with (
        open_store() as (store, settings),
        acting(store, actor, "consent.due"),
        store.reading() as session,
    ):
        rows = [
            {
                "customer_id": d.customer_id,
                "consented_at": d.consented_at.isoformat(),
                "lapses_at": d.lapses_at.isoformat(),
                "lapsed": d.lapses_at <= now,
                "notice": d.state,
                "reason": d.reason,
            }
            for d in reconfirmations_due(session, settings, now)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("customer", "consented", "lapses", "lapsed", "notice", "reason")
    for r in rows:
        table.add_row(
            str(r["customer_id"]),
            str(r["consented_at"])[:10],
            str(r["lapses_at"])[:10],
            "yes" if r["lapsed"] else "",
            str(r["notice"]),
            str(r["reason"] or ""),
        )
    console.print(table)
