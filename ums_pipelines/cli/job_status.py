"""``ums job status JOB``: exactly what is left of a job, why, and what a restart does.

Exit codes: 0 the job has nothing open, 3 work is open (a restart or a wait is needed),
2 an unknown job, 1 refused."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, acting, open_store

__all__ = ["job_status"]

OPEN = 3


def job_status(
    job_id: Annotated[str, typer.Argument(help="The job.")],
    actor: Annotated[str, ACTOR],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """What is left of the job: unwritten splits, open messages by why they are open,
    customers not reached, and the next step (nothing delivered is ever sent again)."""
    from ums_pipelines.compliance.access import job_department
    from ums_pipelines.dispatch.progress import job_progress

    console = Console(soft_wrap=True)
    with (
        open_store() as (store, _),
        acting(store, actor, "job.status", job_department(job_id)),
        store.reading() as session,
    ):
        try:
            progress = job_progress(session, job_id)
        except KeyError:
            console.print(f"[red]no job {escape(job_id)}")
            raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(progress.as_dict(), default=str, ensure_ascii=False))
    else:
        console.print(
            f"job {escape(progress.job_id)} ({escape(progress.name)}): {progress.status}"
            + (f" — {escape(progress.stop_reason)}" if progress.stop_reason else "")
        )
        console.print(
            f"targets {progress.targets if progress.targets is not None else '-'} · customers "
            + ", ".join(f"{k} {v:,}" for k, v in progress.customers.items())
        )
        names = sorted({*progress.rows_by_state, *progress.fallback_rows_by_state})
        states = Table("leg", *names, title="Messages by state")
        for label, counts in (("first", progress.rows_by_state),
                              ("fallback", progress.fallback_rows_by_state)):  # fmt: skip
            states.add_row(label, *(f"{counts.get(c, 0):,}" for c in names))
        if names:
            console.print(states)
        left = Table("left", "count", "what next", "since", title="What is left")
        for item in progress.left:
            left.add_row(item.kind, f"{item.count:,}", item.what_next, str(item.since or ""))
        console.print(left if progress.left else "nothing is left")
        console.print(f"next: {escape(progress.next_step)}")
    if progress.open_items:
        raise typer.Exit(OPEN)
