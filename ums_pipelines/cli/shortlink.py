"""``ums shortlink serve|clicks``: the redirect service, and the clicks it recorded."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, authorized
from ums_pipelines.masking import mask_text
from ums_pipelines.settings import get_settings
from ums_pipelines.store import Store

__all__ = ["shortlink_app"]

console = Console()
shortlink_app = typer.Typer(
    help="Per-recipient short links: the redirect service and its click data.",
    no_args_is_help=True,
)

_UA_SHOWN = 60  # characters of a user agent in the table (the JSON has it whole)


def _migrated(store: Store) -> bool:
    from sqlalchemy import inspect

    inspector = inspect(store.engine)
    return inspector.has_table("short_links") and inspector.has_table("link_clicks")


@shortlink_app.command("serve")
def serve(
    actor: Annotated[str, ACTOR],
    host: Annotated[
        str | None, typer.Option(help="Address to bind; default UMS_SHORTLINK_HOST.")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port to listen on; default UMS_SHORTLINK_PORT."),
    ] = None,
) -> None:
    """Run the redirect service until Ctrl-C: GET /{code} records the click and redirects."""
    import uvicorn

    from ums_pipelines.shortlinks.server import create_app

    settings = get_settings()
    host = host or settings.shortlink_host
    port = port or settings.shortlink_port
    store = Store(settings.store_url)
    shown = store.engine.url.render_as_string(hide_password=True)
    try:
        if not _migrated(store):
            console.print(f"[red]store[/red]: {shown} has no short-link tables; run ums db upgrade")
            raise typer.Exit(2)
        authorized(store, actor, "shortlink.serve")
        console.print(
            f"short-link redirect service on http://{host}:{port}"
            f" (links {settings.shortlink_base_url.rstrip('/')}/<code>, store {shown});"
            " Ctrl-C stops it"
        )
        # No access log: each line would pair a customer's link code with a client IP.
        app = create_app(store, content_dir=settings.content_dir, settings=settings)
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
    finally:
        store.dispose()


@shortlink_app.command("clicks")
def clicks(
    actor: Annotated[str, ACTOR],
    customer: Annotated[str | None, typer.Option("--customer", help="A customer id.")] = None,
    job: Annotated[str | None, typer.Option("--job", help="A job id.")] = None,
    message_key: Annotated[
        str | None, typer.Option("--message-key", help="An outbox row's idempotency key.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the clicks as JSON.")] = False,
) -> None:
    """The clicks on short links, per customer and message (give at least one filter)."""
    from ums_pipelines.compliance.access import job_department
    from ums_pipelines.shortlinks.store import responses

    if customer is None and job is None and message_key is None:
        console.print("[red]clicks[/red]: give --customer, --job or --message-key")
        raise typer.Exit(2)
    settings = get_settings()
    store = Store(settings.store_url)
    try:
        # A job's clicks are its department's; a customer's span departments ('*').
        authorized(store, actor, "shortlink.clicks", job_department(job) if job else None)
        with store.reading() as session:
            found = responses(session, customer_id=customer, job_id=job, message_key=message_key)
    finally:
        store.dispose()
    rows = [
        {
            "clicked_at": r.clicked_at.astimezone(settings.tz).isoformat(timespec="seconds"),
            "customer_id": r.customer_id,
            "job_id": r.job_id,
            "message_id": r.message_id,
            "message_key": r.message_key,
            "channel": r.channel,
            "message_type": r.message_type,
            "leg": r.leg,
            "kind": r.kind,
            # A bank's own URL, but a template may have put something personal in it.
            "target_url": mask_text(r.target_url),
            "user_agent": r.user_agent,
        }
        for r in found
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not console.is_terminal:
        console.width = max(console.width, 160)
    table = Table(
        "clicked", "customer", "job", "message", "channel", "type", "leg", "kind", "target", "agent"
    )
    for r in rows:
        agent = str(r["user_agent"] or "-")
        cells = [r[k] for k in ("clicked_at", "customer_id", "job_id", "message_id")]
        cells += [r[k] for k in ("channel", "message_type", "leg", "kind", "target_url")]
        cells.append(agent if len(agent) <= _UA_SHOWN else agent[: _UA_SHOWN - 1] + "…")
        table.add_row(*("-" if v is None else str(v) for v in cells))
    console.print(table)
    console.print(f"{len(rows)} click(s)")
