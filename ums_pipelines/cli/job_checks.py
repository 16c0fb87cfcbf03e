"""``ums job checks JOB``: the stage checks' findings of a job (plan deviation, duplicate
recipients, budget), and what clears a block: ``--plan N`` or ``--recheck`` after the
author's fix, or ``--acknowledge CHECK`` by an approver who is not the author.

Exit codes: 0 nothing blocks the job, 1 a block is left or the action was refused,
2 bad input or an unknown job."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.cli.common import acting as role_checked
from ums_pipelines.cli.common import open_store

__all__ = ["job_checks"]

_ACTOR = typer.Option("--actor", envvar="UMS_ACTOR", help="Who acts (recorded in the audit log).")


def _print(console: Console, job_id: str, findings: list[dict[str, Any]]) -> None:
    if not findings:
        console.print(f"job {job_id}: no findings")
        return
    table = Table(title=f"Job {job_id}: stage checks", title_justify="left")
    for name in ("check", "severity", "detail", "acknowledged"):
        table.add_column(name)
    for f in findings:
        ack = f.get("acknowledged_by")
        table.add_row(
            str(f.get("check")),
            str(f.get("severity")),
            escape(str(f.get("detail"))),
            f"by {ack}" + (f" ({escape(str(f['note']))})" if f.get("note") else "") if ack else "",
        )
    console.print(table)


def job_checks(
    job_id: Annotated[str, typer.Argument(help="The job.")],
    acknowledge: Annotated[
        str | None,
        typer.Option(help="Let a block finding of this check pass (an approver, not the author)."),
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why it is acknowledged.")] = None,
    plan: Annotated[
        int | None, typer.Option("--plan", help="The author's corrected planned count.")
    ] = None,
    recheck: Annotated[
        bool, typer.Option(help="Run the plan and budget checks again (after a fix).")
    ] = False,
    actor: Annotated[str, _ACTOR] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List a job's stage-check findings; re-plan, recheck or acknowledge a block."""
    from ums_pipelines.compliance import stages
    from ums_pipelines.compliance.access import job_department
    from ums_pipelines.compliance.roles import RoleError
    from ums_pipelines.store.models import Job

    console = Console(soft_wrap=True)
    acting = acknowledge is not None or plan is not None or recheck
    if acting and not actor.strip():
        console.print("[red]actor: --actor (or UMS_ACTOR) names who acts")
        raise typer.Exit(2)
    try:
        action = (
            "job.acknowledge" if acknowledge is not None
            else "job.replan" if plan is not None
            else "job.recheck" if recheck
            else "job.checks"
        )  # fmt: skip
        with (
            open_store() as (store, settings),
            role_checked(store, actor, action, job_department(job_id)),
            store.session() as session,
        ):
            if plan is not None:
                stages.replan(session, settings, job_id, plan, actor)
            elif recheck:
                stages.recheck(session, settings, job_id, actor)
            if acknowledge is not None:
                stages.acknowledge(session, job_id, acknowledge, actor, note)
            job = session.get(Job, job_id)
            if job is None:
                raise KeyError(f"job_id: no job {job_id!r}")
            findings = [dict(f) for f in job.anomalies or []]
            blocked = bool(stages.open_blocks(job))
    except KeyError as exc:
        console.print(f"[red]{escape(str(exc.args[0]))}")
        raise typer.Exit(2) from exc
    except (stages.StageError, RoleError) as exc:
        console.print(f"[red]refused[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(
            json.dumps(
                {"job_id": job_id, "blocked": blocked, "findings": findings}, ensure_ascii=False
            )
        )
    else:
        _print(console, job_id, findings)
        if blocked:
            console.print(f"job {job_id} is blocked: it is neither approved nor sent")
    if blocked:
        raise typer.Exit(1)
