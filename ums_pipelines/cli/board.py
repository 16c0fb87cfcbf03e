"""``ums stats``, ``ums board serve|token`` and ``ums metrics serve``: the monitoring
snapshot in the terminal, the live screen board and the Prometheus endpoint."""

from __future__ import annotations

import importlib
import importlib.util
import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, acting, authorized, open_store

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from ums_pipelines.monitoring.model import Snapshot
    from ums_pipelines.settings import Settings
    from ums_pipelines.store import Store

__all__ = ["board_app", "metrics_app", "stats"]

console = Console()
board_app = typer.Typer(help="The live screen board and its access tokens.", no_args_is_help=True)
token_app = typer.Typer(help="Board tokens: one per staff user and screen.", no_args_is_help=True)
board_app.add_typer(token_app, name="token")
metrics_app = typer.Typer(
    help="Prometheus metrics of the monitoring snapshot.", no_args_is_help=True
)
_COLOUR = {"green": "green", "amber": "yellow", "red": "red"}


def _light(state: str) -> str:
    return f"[{_COLOUR.get(state, 'white')}]●[/] {state}"


def stats(
    actor: Annotated[str, ACTOR],
    as_json: Annotated[bool, typer.Option("--json", help="Print the snapshot as JSON.")] = False,
) -> None:
    """Per-stage counts, rates, latencies, backlog, agents and circuits, read from the store
    now (live stages now; delivered ... cancelled since the Korea-time day began)."""
    from ums_pipelines.monitoring import take_snapshot

    with open_store() as (store, settings), acting(store, actor, "stats.view"):
        snap = take_snapshot(store, settings)
    if as_json:
        typer.echo(json.dumps(snap.to_json(), ensure_ascii=False))
        return
    _print(snap, settings.tz)


def _print(snap: Snapshot, tz: object) -> None:
    from ums_pipelines.monitoring.model import STAGES

    if not console.is_terminal:
        console.width = max(console.width, 180)
    taken = snap.taken_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")  # type: ignore[arg-type]
    overall = next(x for x in snap.lights if x.kind == "overall")
    console.print(f"UMS {_light(overall.state)}  taken {taken} in {snap.duration_s:.3f} s")
    for reason in overall.reasons:
        console.print(f"  {reason}")
    stages = Table("channel", *STAGES, title="messages per stage")
    for name, counts in sorted(snap.by("channel").items()):
        stages.add_row(name, *(f"{counts[s]:,}" for s in STAGES))
    totals = snap.stage_totals()
    stages.add_row("[b]total[/b]", *(f"[b]{totals[s]:,}[/b]" for s in STAGES))
    console.print(stages)
    rates = Table(
        "channel",
        "provider",
        "sent/min",
        "delivered/min",
        "failed/min",
        "failure share",
        title=f"last {snap.window_s / 60:g} minutes",
    )
    for r in snap.rates:
        share = "-" if r.failure_share is None else f"{r.failure_share:.1%}"
        rates.add_row(
            r.channel,
            r.provider,
            f"{r.sent_per_min:g}",
            f"{r.delivered_per_min:g}",
            f"{r.failed_per_min:g}",
            share,
        )
    console.print(rates)
    lat = Table("leg", "channel", "p50 s", "p95 s", "samples", title="latency")
    for x in snap.latencies:
        lat.add_row(x.leg, x.channel, _n(x.p50_s), _n(x.p95_s), str(x.samples))
    console.print(lat)
    lights = {(x.kind, x.name): x.state for x in snap.lights}
    backlog = Table("lane", "waiting", "due", "oldest due s", "unwritten", "light", title="backlog")
    for b in snap.backlog:
        backlog.add_row(
            b.lane,
            f"{b.waiting:,}",
            f"{b.due:,}",
            _n(b.oldest_due_age_s),
            f"{b.unwritten:,}",
            _light(lights.get(("lane", b.lane), "green")),
        )
    console.print(backlog)
    agents = Table("agent", "kind", "state", "heartbeat age s", "claimed", "sent", title="senders")
    for a in snap.agents:
        agents.add_row(
            a.agent_id,
            a.kind,
            a.state,
            _n(a.heartbeat_age_s),
            str(a.claimed),
            "-" if a.sent is None else str(a.sent),
        )
    console.print(agents)
    circuits = Table(
        "provider",
        "circuit",
        "failures",
        "opened",
        "per s",
        "per h",
        "factor",
        "light",
        title="providers",
    )
    for c in snap.circuits:
        circuits.add_row(
            c.provider,
            c.state,
            str(c.failures),
            str(c.times_opened),
            _n(c.per_second),
            _n(c.per_hour),
            _n(c.rate_factor),
            _light(lights.get(("provider", c.provider), "green")),
        )
    console.print(circuits)
    fails = Table("stage", "at", "reason", "channel", "provider", "lane", "count", title="failures")
    for f in sorted(snap.failures, key=lambda f: -f.count)[:20]:
        fails.add_row(f.stage, f.at, f.reason, f.channel, f.provider, f.lane, f"{f.count:,}")
    console.print(fails)
    flow = Table("kind", "status", "count", title="workflow")
    for kind, counts in (
        ("job", snap.jobs),
        ("content", snap.content),
        ("pending", snap.approvals_pending),
    ):
        for status, n in sorted(counts.items()):
            flow.add_row(kind, status, str(n))
    console.print(flow)


def _n(value: float | int | None) -> str:
    return "-" if value is None else f"{value:g}"


def _serve(actor: str, action: str, host: str | None, port: int | None, metrics_only: bool) -> None:
    import uvicorn

    from ums_pipelines.board.server import create_app

    with open_store() as (store, settings):
        authorized(store, actor, action)
        host = host or settings.monitoring_board_host
        port = port or (
            settings.monitoring_metrics_port if metrics_only else settings.monitoring_board_port
        )
        what = "metrics" if metrics_only else "screen board"
        console.print(
            f"{what} on http://{host}:{port} (board tokens: ums board token issue); Ctrl-C stops it"
        )
        app = create_app(
            store, settings, metrics_only=metrics_only, extra_routes=_calendar(store, settings)
        )
        # No access log: it would repeat every refresh of every screen.
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")


def _calendar(store: Store, settings: Settings) -> list[BaseRoute]:
    """The send calendar's /calendar routes behind the board's tokens, where the calendar
    is installed (ums_pipelines/calendar/web.py, another part of issue 9)."""
    if importlib.util.find_spec("ums_pipelines.calendar.web") is None:
        return []
    web = importlib.import_module("ums_pipelines.calendar.web")
    return list(web.board_routes(store, settings))


HOST = typer.Option(help="Address to bind; default UMS_MONITORING_BOARD_HOST.")


@board_app.command("serve")
def board_serve(
    actor: Annotated[str, ACTOR],
    host: Annotated[str | None, HOST] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port; default UMS_MONITORING_BOARD_PORT (8960)."),
    ] = None,
) -> None:
    """Serve the live screen board (/, /api/snapshot, /metrics) until Ctrl-C."""
    _serve(actor, "board.serve", host, port, metrics_only=False)


@metrics_app.command("serve")
def metrics_serve(
    actor: Annotated[str, ACTOR],
    host: Annotated[str | None, HOST] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port; default UMS_MONITORING_METRICS_PORT (9464)."),
    ] = None,
) -> None:
    """Serve only /metrics (board tokens as Bearer or Basic) until Ctrl-C."""
    _serve(actor, "metrics.serve", host, port, metrics_only=True)


@token_app.command("issue")
def token_issue(
    user: Annotated[str, typer.Argument(help="The staff user the token stands for.")],
    actor: Annotated[str, ACTOR],
    label: Annotated[str, typer.Option(help="The screen or scraper it is for.")] = "wall screen",
) -> None:
    """Issue a board token to USER (who must hold a role for '*'); it is shown only now."""
    from ums_pipelines.board.auth import issue_token

    with open_store() as (store, _), acting(store, actor, "board.token"):
        try:
            with store.session() as session:
                token_id, token = issue_token(session, user, label, actor)
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    console.print(f"board token {token_id} for {user} ({label}); shown once, keep it secret:")
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (ums board token list).")],
    actor: Annotated[str, ACTOR],
) -> None:
    """Revoke a board token: its screen gets 401 from the next refresh on."""
    from ums_pipelines.board.auth import revoke_token

    with open_store() as (store, _), acting(store, actor, "board.token"):
        try:
            with store.session() as session:
                row = revoke_token(session, token_id, actor)
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    console.print(f"board token {row.id} of {row.user_id} revoked")


@token_app.command("list")
def token_list(actor: Annotated[str, ACTOR]) -> None:
    """Board tokens (never the tokens themselves): user, label, issued, revoked."""
    from ums_pipelines.board.auth import list_tokens

    with open_store() as (store, _), acting(store, actor, "board.token"), store.reading() as s:
        rows = list_tokens(s)
        table = Table("id", "user", "label", "issued by", "issued", "revoked")
        for r in rows:
            revoked = (
                "-" if r.revoked_at is None else f"{r.revoked_at:%Y-%m-%d %H:%M} by {r.revoked_by}"
            )
            table.add_row(
                str(r.id), r.user_id, r.label, r.issued_by, f"{r.issued_at:%Y-%m-%d %H:%M}", revoked
            )
    console.print(table)
