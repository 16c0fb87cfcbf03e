"""``ums job test-send``: a job's content to staff of the staff directory, never customers."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ums_pipelines.cli.common import ACTOR, authorized, open_store
from ums_pipelines.compliance.access import job_department

__all__ = ["job_test_send"]


def job_test_send(
    job_id: Annotated[str, typer.Argument(help="The job whose content is tested.")],
    staff: Annotated[
        list[str] | None, typer.Option("--staff", help="A staff id of UMS_STAFF_DIRECTORY.")
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            "--group",
            help="A test group of the job: with --staff it is saved (replaced) under this"
            " name, alone it is the saved group's staff.",
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option("--wait", min=0, help="Run a send agent here up to this many seconds."),
    ] = 0.0,
    actor: Annotated[str, ACTOR] = "",
) -> None:
    """Send the job's content to staff (marked as a test, never to a customer)."""
    # The send path loads Polars: imported when the command runs, not at CLI start-up.
    from ums_pipelines.testsends import (
        ACTION,
        TestSendError,
        deliver,
        load_groups,
        save_group,
        send_test,
    )

    console = Console(soft_wrap=True)
    with open_store() as (store, settings):
        authorized(store, actor, ACTION, job_department(job_id))
        ids = list(staff or [])
        try:
            if group and ids:
                save_group(settings, job_id, group, ids)
            elif group:
                saved = load_groups(settings, job_id)
                if group not in saved:
                    raise TestSendError(f"group: the job has no test group {group!r}")
                ids = saved[group]
            result = send_test(store, settings, job_id, ids, actor)
        except TestSendError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        queued = [i for ids_ in result.messages.values() for i in ids_]
        console.print(
            f"test round {result.round} of {job_id}: {len(queued)} message(s) to"
            f" {len(result.messages)} staff under {result.job_id}"
        )
        for staff_id, why in result.skipped.items():
            console.print(f"[yellow]{staff_id} skipped: {escape(why)}")
        if wait and queued:
            states = asyncio.run(deliver(store, settings, queued, wait))
            counts: dict[str, int] = {}
            for state in states.values():
                counts[state] = counts.get(state, 0) + 1
            console.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
