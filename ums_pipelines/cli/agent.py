"""``ums agent run|list`` (the long-running send agent) and ``ums submit`` (real-time intake)."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, authorized
from ums_pipelines.dispatch.standing import IntakeError, parse_lane
from ums_pipelines.lanes import CHANNELS, Lane

__all__ = ["agent_app", "submit"]

agent_app = typer.Typer(help="Send agents: serve the outbox continuously.", no_args_is_help=True)
console = Console()


def _lanes(value: str) -> tuple[Lane, ...]:
    try:
        lanes = tuple(parse_lane(int(v) if v.strip().isdigit() else v) for v in value.split(","))
    except IntakeError as exc:
        raise typer.BadParameter(str(exc)) from None
    return tuple(sorted(set(lanes)))


@agent_app.command("run")
def agent_run(
    actor: Annotated[str, ACTOR],
    lanes: Annotated[
        str, typer.Option(help="Lanes served, by name or number (urgent=0 ... marketing=4).")
    ] = "urgent,auth,transactional",
    lease_seconds: Annotated[
        int, typer.Option(min=3, help="Claim lease; a dead agent's rows move on after it.")
    ] = 30,
    channels: Annotated[str, typer.Option(help="Channels served.")] = ",".join(CHANNELS),
    express_workers: Annotated[int, typer.Option(min=1, help="Per channel.")] = 2,
    inbox: Annotated[bool, typer.Option(help="Read the request drop folder.")] = True,
) -> None:
    """Run a send agent until SIGTERM or Ctrl-C; it releases its claims when it stops."""
    from ums_pipelines.dispatch.agent import Agent, AgentConfig
    from ums_pipelines.settings import get_settings
    from ums_pipelines.store import Store

    wanted = tuple(c.strip() for c in channels.split(",") if c.strip())
    unknown = [c for c in wanted if c not in CHANNELS]
    if unknown:
        raise typer.BadParameter(f"channels: unknown {', '.join(unknown)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = get_settings()
    store = Store(settings.store_url)
    try:
        authorized(store, actor, "agent.run")
    except typer.Exit:
        store.dispose()
        raise
    config = AgentConfig(
        lanes=_lanes(lanes),
        channels=wanted,
        lease_seconds=lease_seconds,
        express_workers=express_workers,
        inbox_every_s=1.0 if inbox else 0.0,
    )
    agent = Agent(store, settings, config)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, agent.stop)
        await agent.run()

    names = ",".join(lane.name.lower() for lane in config.lanes)
    console.print(
        f"agent {agent.agent_id}: lanes {names}, lease {lease_seconds}s",
        highlight=False,
        soft_wrap=True,
    )
    try:
        asyncio.run(main())
    finally:
        store.dispose()
    console.print(
        f"agent {agent.agent_id} stopped after {agent.sent} sends", highlight=False, soft_wrap=True
    )


@agent_app.command("list")
def agent_list(actor: Annotated[str, ACTOR]) -> None:
    """Registered agents: lanes, providers, alive/dead/stopped, heartbeat age, sends."""
    from ums_pipelines.dispatch.agents import list_agents
    from ums_pipelines.settings import get_settings
    from ums_pipelines.store import Store

    store = Store(get_settings().store_url)
    try:
        authorized(store, actor, "agent.list")
        agents = list_agents(store)
    finally:
        store.dispose()
    table = Table(title="Send agents")
    # The id stays on one line: operators copy it into queries and logs.
    table.add_column("agent", no_wrap=True)
    for column in ("host", "pid", "lanes", "providers", "state", "heartbeat", "sent"):
        table.add_column(column, justify="right" if column in ("pid", "sent") else "left")
    colours = {"alive": "green", "dead": "red", "stopped": "dim"}
    for a in agents:
        table.add_row(
            a.agent_id,
            a.host,
            str(a.pid),
            ",".join(Lane(lane).name.lower() for lane in a.lanes),
            ",".join(a.providers),
            f"[{colours.get(a.state, 'white')}]{a.state}[/]",
            f"{a.heartbeat_age_s:.1f}s ago",
            str(a.sent),
        )
    # A console made now reads the terminal width (COLUMNS) of this invocation.
    Console().print(table)


def submit(
    actor: Annotated[str, ACTOR],
    caller: Annotated[str, typer.Option(help="Calling system.")] = "cli",
    key: Annotated[str | None, typer.Option(help="Caller's idempotency key.")] = None,
    customer: Annotated[str | None, typer.Option(help="Customer id.")] = None,
    template: Annotated[str | None, typer.Option(help="Template code (standing job).")] = None,
    job: Annotated[str | None, typer.Option(help="An existing job instead of a template.")] = None,
    lane: Annotated[str | None, typer.Option(help="urgent|auth|transactional|...")] = None,
    chain: Annotated[str | None, typer.Option(help="Channels in order, e.g. push,sms.")] = None,
    var: Annotated[list[str] | None, typer.Option(help="name=value, repeatable.")] = None,
    inbox: Annotated[bool, typer.Option(help="Instead: read the request drop folder.")] = False,
) -> None:
    """Submit one real-time message (idempotent on --caller/--key), or the drop folder."""
    from ums_pipelines.compliance.access import content_department, job_department
    from ums_pipelines.dispatch.intake import submit as submit_request
    from ums_pipelines.dispatch.requestfiles import sync_request_files
    from ums_pipelines.settings import get_settings
    from ums_pipelines.store import Store

    settings = get_settings()
    store = Store(settings.store_url)
    try:
        scope = job_department(job) if job else content_department(template) if template else None
        authorized(store, actor, "message.submit", scope)
        if inbox:
            for f in sync_request_files(store, settings):
                console.print(
                    f"{f.file_name}: {f.status}, {f.queued} queued, {f.rejected} refused,"
                    f" {f.duplicates} repeated, {len(f.errors)} bad",
                    highlight=False,
                    soft_wrap=True,
                )
                for error in f.errors:
                    console.print(f"  [red]{error}[/red]", highlight=False, soft_wrap=True)
            return
        if not key or not customer:
            raise typer.BadParameter("--key and --customer are required")
        variables = dict(v.partition("=")[::2] for v in var or [])
        try:
            answer = submit_request(
                store,
                settings,
                caller=caller,
                caller_key=key,
                customer_id=customer,
                template_code=template,
                job_id=job,
                variables=variables,
                lane=lane,
                chain=chain.split(",") if chain else None,
            )
        except IntakeError as exc:
            console.print(f"[red]refused[/red]: {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
    finally:
        store.dispose()
    seen = "" if answer.created else " (already received; nothing written)"
    detail = f"message {answer.message_id}" if answer.message_id else answer.error
    console.print(
        f"request {answer.request_id} {answer.state}{seen}: job {answer.job_id}, {detail}",
        highlight=False,
        soft_wrap=True,
    )
    if answer.state == "rejected":
        raise typer.Exit(1)
