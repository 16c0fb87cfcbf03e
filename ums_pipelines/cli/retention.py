"""``ums retention``: the policies, purge plans (the notice), purges and legal holds."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ums_pipelines.cli.common import ACTOR, acting, open_store

__all__ = ["retention_app"]

retention_app = typer.Typer(help="Retention: policies, noticed purges, legal holds.")
hold_app = typer.Typer(help="Legal holds: a held customer's or job's data is never purged.")
retention_app.add_typer(hold_app, name="hold")


@retention_app.command("policies")
def policies_cmd() -> None:
    """Each data class, its duration in days and what a purge does to it."""
    from ums_pipelines.retention.policy import policies
    from ums_pipelines.settings import get_settings

    for p in policies(get_settings()):
        days = "kept" if p.days is None else f"{p.days} days"
        typer.echo(f"{p.data_class:16} {days:>10}  {p.action:6}  {p.what}")


@retention_app.command("plan")
def plan_cmd(
    actor: Annotated[str, ACTOR] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count only; record no plan.")] = False,
) -> None:
    """Count what each class would lose and record the plan: the notice a purge waits on."""
    from ums_pipelines.retention.purge import plan_purge

    with open_store() as (store, settings), acting(store, actor, "retention.plan"):
        plan = plan_purge(store, settings, actor=actor, dry_run=dry_run)
    typer.echo(
        json.dumps(
            {
                "plan": None if dry_run else plan.plan_id,
                "cutoffs": plan.cutoffs,
                "counts": plan.counts,
                "purge_after_hours": settings.retention_notice_hours,
            },
            indent=2,
        )
    )


@retention_app.command("purge")
def purge_cmd(
    actor: Annotated[str, ACTOR] = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the due plan; change nothing.")
    ] = False,
) -> None:
    """Carry out the newest plan recorded at least UMS_RETENTION_NOTICE_HOURS ago."""
    from ums_pipelines.retention.purge import NoticeError, due_plan, purge

    console = Console(soft_wrap=True)
    with open_store() as (store, settings), acting(store, actor, "retention.purge"):
        if dry_run:
            with store.reading() as session:
                plan = due_plan(session, settings)
            if plan is None:
                typer.echo("no plan is due (ums retention plan records one)")
                return
            typer.echo(json.dumps({"plan": plan.plan_id, "counts": plan.counts}, indent=2))
            return
        try:
            result = purge(store, settings, actor=actor)
        except NoticeError as exc:
            console.print(f"[red]{escape(str(exc))}")
            raise typer.Exit(2) from exc
    typer.echo(
        json.dumps(
            {
                "plan": result.plan_id,
                "counts": result.counts,
                "archived": result.archived,
                "parquet_files": result.parquet_files,
                "emptied_jobs": len(result.emptied_jobs),
            },
            indent=2,
        )
    )


@hold_app.command("add")
def hold_add(
    reason: Annotated[str, typer.Option(help="The case or request the hold serves.")],
    customer: Annotated[str | None, typer.Option(help="The customer id held.")] = None,
    job: Annotated[str | None, typer.Option(help="The job id held.")] = None,
    actor: Annotated[str, ACTOR] = "",
) -> None:
    """Place a legal hold on a customer, a job, or both."""
    from ums_pipelines.retention.hold import HoldError, place_hold

    console = Console(soft_wrap=True)
    try:
        with (
            open_store() as (store, _),
            acting(store, actor, "retention.hold"),
            store.session() as session,
        ):
            hold = place_hold(session, actor=actor, reason=reason, customer_id=customer, job_id=job)
            text = f"legal hold {hold.id} placed"
    except HoldError as exc:
        console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(2) from exc
    typer.echo(text)


@hold_app.command("release")
def hold_release(
    hold_id: Annotated[int, typer.Argument(help="The hold's id (ums retention hold list).")],
    actor: Annotated[str, ACTOR] = "",
) -> None:
    """Release a legal hold: its data is purged by the next plan that finds it due."""
    from ums_pipelines.retention.hold import HoldError, release_hold

    console = Console(soft_wrap=True)
    try:
        with (
            open_store() as (store, _),
            acting(store, actor, "retention.hold"),
            store.session() as session,
        ):
            release_hold(session, hold_id, actor=actor)
    except HoldError as exc:
        console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(2) from exc
    typer.echo(f"legal hold {hold_id} released")


@hold_app.command("list")
def hold_list(actor: Annotated[str, ACTOR] = "") -> None:
    """The holds in place: id, customer, job, who placed it and when (not the reason)."""
    from ums_pipelines.retention.hold import active_holds

    with (
        open_store() as (store, _),
        acting(store, actor, "retention.list"),
        store.reading() as session,
    ):
        for h in active_holds(session):
            typer.echo(
                f"{h.id}\tcustomer={h.customer_id or '-'}\tjob={h.job_id or '-'}"
                f"\t{h.placed_by}\t{h.placed_at.isoformat()}"
            )
