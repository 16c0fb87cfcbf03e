"""The ``ums`` command line (Typer + Rich)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ums_pipelines.cli.agent import agent_app, submit
from ums_pipelines.cli.alerts import alerts_app
from ums_pipelines.cli.approval import approval_app
from ums_pipelines.cli.audit import audit_app
from ums_pipelines.cli.bench import bench
from ums_pipelines.cli.board import board_app, metrics_app, stats
from ums_pipelines.cli.budget import budget_app
from ums_pipelines.cli.calendar import calendar_app
from ums_pipelines.cli.consent import consent_app
from ums_pipelines.cli.content import content_app
from ums_pipelines.cli.content_preview import preview
from ums_pipelines.cli.cost import cost_app
from ums_pipelines.cli.demo import demo
from ums_pipelines.cli.dispatch import dispatch, job_app
from ums_pipelines.cli.history import history
from ums_pipelines.cli.interface import interface_app
from ums_pipelines.cli.job_checks import job_checks
from ums_pipelines.cli.job_status import job_status
from ums_pipelines.cli.message import message_app
from ums_pipelines.cli.mo import mo_app
from ums_pipelines.cli.optout import optout_app
from ums_pipelines.cli.optout_feeds import (
    add as optout_add,
)
from ums_pipelines.cli.optout_feeds import (
    import_080,
    import_kakao_blocks,
    push_off,
)
from ums_pipelines.cli.optout_feeds import (
    list_cmd as optout_list,
)
from ums_pipelines.cli.pii import pii_app
from ums_pipelines.cli.retention import retention_app
from ums_pipelines.cli.review_hook import review_hook_app
from ums_pipelines.cli.roles import roles_app
from ums_pipelines.cli.senders import senders_app
from ums_pipelines.cli.shortlink import shortlink_app
from ums_pipelines.cli.targets import targets_app
from ums_pipelines.cli.testsend import job_test_send
from ums_pipelines.cli.urgent import urgent_app
from ums_pipelines.cli.words import words_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="ums",
    help="UMS: the bank's Unified Messaging System.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Operational store maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.command(name="demo")(demo)
app.add_typer(agent_app, name="agent")
app.command(name="submit")(submit)
app.command(name="bench")(bench)
app.command(name="history")(history)
app.command(name="dispatch")(dispatch)
job_app.command("checks")(job_checks)
job_app.command("status")(job_status)
job_app.command("test-send")(job_test_send)
app.add_typer(job_app, name="job")
app.add_typer(mo_app, name="mo")
optout_app.command("import-080")(import_080)
optout_app.command("import-kakao-blocks")(import_kakao_blocks)
optout_app.command("push-off")(push_off)
optout_app.command("list")(optout_list)
optout_app.command("add")(optout_add)
app.add_typer(optout_app, name="optout")
app.add_typer(consent_app, name="consent")
app.add_typer(message_app, name="message")
content_app.command("preview")(preview)
app.add_typer(content_app, name="content")
app.add_typer(shortlink_app, name="shortlink")
app.add_typer(pii_app, name="pii")
app.add_typer(words_app, name="words")
app.add_typer(senders_app, name="senders")
app.add_typer(approval_app, name="approval")
app.add_typer(review_hook_app, name="review-hook")
app.add_typer(audit_app, name="audit")
app.add_typer(interface_app, name="interface")
app.add_typer(budget_app, name="budget")
app.add_typer(alerts_app, name="alerts")
app.add_typer(calendar_app, name="calendar")
app.add_typer(cost_app, name="cost")
app.add_typer(roles_app, name="roles")
app.add_typer(targets_app, name="targets")
app.add_typer(retention_app, name="retention")
app.add_typer(board_app, name="board")
app.add_typer(metrics_app, name="metrics")
app.command(name="stats")(stats)
app.add_typer(urgent_app, name="urgent")
console = Console()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the store's Alembic migrations up to the newest."""
    from ums_pipelines.settings import get_settings
    from ums_pipelines.store import Store

    settings = get_settings()
    store = Store(settings.store_url)
    store.migrate()
    store.dispose()
    console.print(
        f"[green]store migrated[/green]: {store.engine.url.render_as_string(hide_password=True)}"
    )


@app.command("gateway-sim")
def gateway_sim(
    port: Annotated[int, typer.Option(help="HTTP port of the provider APIs.")] = 8900,
    smtp_port: Annotated[int, typer.Option(help="SMTP port of the mail sink.")] = 8925,
    apns_port: Annotated[
        int | None,
        typer.Option(help="Port of the APNs API (HTTP/2 cleartext); default --port + 2."),
    ] = None,
    host: Annotated[str, typer.Option(help="Loopback address to bind.")] = "127.0.0.1",
    ledger: Annotated[
        Path | None, typer.Option(help="SQLite ledger file (kept across restarts).")
    ] = None,
    failure_rate: Annotated[
        float, typer.Option(help="Share of messages whose receipt fails.")
    ] = 0.03,
    latency_ms: Annotated[int, typer.Option(help="Upper bound of per-request latency.")] = 5,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="JSON object of SimConfig fields (faults, rate_limits, ...);"
            " its fields win over --failure-rate and --latency-ms.",
        ),
    ] = None,
) -> None:
    """Run the provider gateway simulator (SMS relay, AlimTalk, FCM v1, APNs, SMTP, DM print
    vendor) until Ctrl-C."""
    import json

    from ums_pipelines.gateway_sim import SimConfig, serve_forever

    fields = {"failure_rate": failure_rate, "latency_ms": (0, latency_ms)}
    if config_file is not None:
        fields |= json.loads(config_file.read_text(encoding="utf-8"))
    config = SimConfig.model_validate(fields)
    apns_port = port + 2 if apns_port is None else apns_port
    console.print(
        f"gateway simulator on http://{host}:{port} (SMTP {host}:{smtp_port},"
        f" APNs h2c http://{host}:{apns_port}); Ctrl-C stops it"
    )
    serve_forever(
        config,
        host=host,
        port=port,
        smtp_port=smtp_port,
        ledger_path=ledger,
        apns_port=apns_port,
    )


def main() -> None:
    app()
