"""``ums dispatch JOB_ID`` and ``ums job pause|resume|cancel|resend-failed JOB_ID``.

``ums dispatch`` runs a bulk job's senders in this process until the job is terminal
(or paused, cancelled, or past ``--deadline``). Several may run for the same job at
once, on other machines too: they share the outbox, the provider rate limits and the
circuit breakers through the store. A killed one loses nothing: its leases run out and
the others, or the next one started, send its rows under the same idempotency keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, authorized
from ums_pipelines.settings import Settings, get_settings
from ums_pipelines.store import Store

if TYPE_CHECKING:
    from ums_pipelines.dispatch.control import ControlResult

__all__ = ["dispatch", "job_app"]

console = Console()
job_app = typer.Typer(help="Control a bulk job: pause, resume, cancel, resend the failed.")


def dispatch(
    job_id: Annotated[str, typer.Argument(help="The job to send.")],
    actor: Annotated[str, ACTOR],
    deadline: Annotated[
        float, typer.Option(help="Stop (unfinished, resumable) after this many seconds.")
    ] = 3600.0,
    lease: Annotated[
        float, typer.Option(help="Seconds a claim lasts without renewal (take-over time).")
    ] = 60.0,
    client_timeout: Annotated[
        float, typer.Option(help="Seconds before a provider request is given up and retried.")
    ] = 30.0,
    status_grace: Annotated[
        float, typer.Option(help="Seconds accepted without a receipt before a status query.")
    ] = 30.0,
    owner: Annotated[str | None, typer.Option(help="Lease owner name (default random).")] = None,
) -> None:
    """Send a targeted bulk job until every message is terminal; safe to run several times."""
    from ums_pipelines.compliance.access import job_department
    from ums_pipelines.compliance.gate import ApprovalRequired
    from ums_pipelines.dispatch.runner import Dispatcher

    settings = get_settings()
    store = Store(settings.store_url)
    try:
        authorized(store, actor, "dispatch.run", job_department(job_id))
        dispatcher = Dispatcher(
            store,
            settings,
            owner=owner,
            lease=timedelta(seconds=lease),
            client_timeout=client_timeout,
            status_grace=timedelta(seconds=status_grace),
        )
        result = asyncio.run(dispatcher.run_job(job_id, deadline))
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}")
        raise typer.Exit(code=2) from exc
    except ApprovalRequired as exc:  # four-eyes: nothing was sent
        console.print(f"[red]{exc}")
        raise typer.Exit(code=1) from exc
    finally:
        store.dispose()
    table = Table(title=f"Job {job_id}: {result.status}", title_justify="left")
    table.add_column("state")
    table.add_column("messages", justify="right")
    for state, n in sorted(result.states.items()):
        table.add_row(state, str(n))
    console.print(table)
    console.print(
        f"submitted {sum(result.submitted.values())} in {result.seconds:.1f}s"
        f" (lost leases {result.lost_leases}, retries {sum(result.retries.values())})"
    )
    if result.status == "held":
        # Not a failure: what is left may not go yet (the night ban on advertising);
        # the next run after the ban sends it.
        console.print(f"{result.held} messages held for a later time; run again then")
    if result.status not in ("done", "paused", "cancelled", "stopped", "held"):
        raise typer.Exit(code=1)


def _report(
    action: str, actor: str, job_id: str, fn: Callable[[Store, Settings], ControlResult]
) -> None:
    """Check the actor's role for the job's department, run one control action on the
    configured store and print what it did."""
    from ums_pipelines.compliance.access import job_department
    from ums_pipelines.dispatch.control import ControlError

    settings = get_settings()
    store = Store(settings.store_url)
    try:
        authorized(store, actor, f"job.{action.replace('-', '_')}", job_department(job_id))
        result = fn(store, settings)
    except ControlError as exc:
        console.print(f"[red]{action}: {exc}")
        raise typer.Exit(code=2) from exc
    finally:
        store.dispose()
    console.print(f"job {result.job_id}: {action} → {result.status} ({result.rows} messages)")


@job_app.command("pause")
def job_pause(job_id: str, actor: Annotated[str, ACTOR]) -> None:
    """Hold the job's queued messages; running dispatchers stop, in-flight sends finish."""
    from ums_pipelines.dispatch import control

    _report("pause", actor, job_id, lambda store, _: control.pause(store, job_id, actor))


@job_app.command("resume")
def job_resume(job_id: str, actor: Annotated[str, ACTOR]) -> None:
    """Queue the held messages again; `ums dispatch JOB_ID` sends them."""
    from ums_pipelines.dispatch import control

    _report("resume", actor, job_id, lambda store, _: control.resume(store, job_id, actor))


@job_app.command("cancel")
def job_cancel(job_id: str, actor: Annotated[str, ACTOR]) -> None:
    """Cancel every unsent message; every target still ends with a (cancelled) row."""
    from ums_pipelines.dispatch import control

    _report(
        "cancel",
        actor,
        job_id,
        lambda store, settings: control.cancel(store, settings, job_id, actor),
    )


@job_app.command("resend-failed")
def job_resend_failed(job_id: str, actor: Annotated[str, ACTOR]) -> None:
    """New first legs, under new keys, for customers the job did not reach (never a
    customer with any delivered message); `ums dispatch JOB_ID` sends them."""
    from ums_pipelines.dispatch import control

    _report(
        "resend-failed",
        actor,
        job_id,
        lambda store, settings: control.resend_failed(store, settings, job_id, actor),
    )
