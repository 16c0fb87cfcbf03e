"""``ums review-hook request|ingest|serve|status``: the bank's review-and-approval system.

Exit codes: 0 done, 1 refused (a decision not allowed, the review system unreachable),
2 bad input (an unknown job, a job with nothing to decide, a missing setting).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.cli.common import acting, open_store
from ums_pipelines.store.engine import as_utc

__all__ = ["review_hook_app"]

review_hook_app = typer.Typer(
    help="Send jobs to the bank's review system and bring its decisions in.",
    no_args_is_help=True,
)
_ACTOR = typer.Option("--actor", envvar="UMS_ACTOR", help="Who acts (recorded in the audit log).")


def _console() -> Console:
    # Made when a command prints, not at import: the width (COLUMNS) is read then.
    return Console(soft_wrap=True)


def _fail(message: str, code: int) -> typer.Exit:
    _console().print(f"[red]{escape(message)}[/red]")
    return typer.Exit(code)


@review_hook_app.command("request")
def request(
    job_id: Annotated[str, typer.Argument(help="The targeted job to send for review.")],
    actor: Annotated[str, _ACTOR],
) -> None:
    """Ask the review system to approve the job as it is now (a file in
    UMS_REVIEW_OUTBOX_DIR, or a signed POST to UMS_REVIEW_URL)."""
    from ums_pipelines.compliance.access import job_department
    from ums_pipelines.compliance.review_hook import ReviewHookError, request_review

    try:
        with (
            open_store() as (store, settings),
            acting(store, actor, "review.request", job_department(job_id)),
            store.session() as session,
        ):
            row = request_review(session, settings, "job", job_id, actor)
            ref, via, ext = row.request_ref, row.via, row.external_ref
    except KeyError as exc:
        raise _fail(str(exc.args[0]), 2) from None
    except ReviewHookError as exc:
        # The review system down or refusing is not the operator's input being wrong.
        down = any(w in str(exc) for w in ("not reachable", "answered HTTP"))
        raise _fail(str(exc), 1 if down else 2) from None
    shown = f" (theirs {escape(ext)})" if ext else ""
    _console().print(
        f"[green]requested[/green] review of job {escape(job_id)}: {ref} by {via}{shown}"
    )


@review_hook_app.command("ingest")
def ingest(actor: Annotated[str, _ACTOR]) -> None:
    """Apply every decision file waiting in UMS_REVIEW_INBOX_DIR (the Dagster sensor does
    this every 30 s); exit 1 when a file was refused (it is kept in rejected/)."""
    from ums_pipelines.compliance.review_inbox import ingest_decisions

    with open_store() as (store, settings), acting(store, actor, "review.ingest"):
        result = ingest_decisions(store, settings)
    for outcome in result.applied:
        _console().print(
            f"{escape(outcome.request_ref)}: {outcome.status} ({escape(outcome.message)})"
        )
    for name, why in result.refused.items():
        _console().print(f"[red]refused[/red] {escape(name)}: {escape(why)}")
    _console().print(result.summary)
    if result.refused:
        raise typer.Exit(1)


@review_hook_app.command("serve")
def serve(
    actor: Annotated[str, _ACTOR],
    host: Annotated[str | None, typer.Option(help="Default UMS_REVIEW_HOOK_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default UMS_REVIEW_HOOK_PORT.")] = None,
) -> None:
    """Run the callback server (POST /review/decision, HMAC-signed) until Ctrl-C."""
    import uvicorn

    from ums_pipelines.compliance.review_hook import ReviewHookError
    from ums_pipelines.compliance.review_http import create_app

    with open_store() as (store, settings), acting(store, actor, "review.serve"):
        try:
            app = create_app(store, settings)
        except ReviewHookError as exc:
            raise _fail(str(exc), 2) from None
        host, port = host or settings.review_hook_host, port or settings.review_hook_port
        _console().print(f"review callback server on http://{host}:{port}/review/decision")
        uvicorn.run(app, host=host, port=port, log_level="warning")


@review_hook_app.command("status")
def status(
    job_id: Annotated[str, typer.Argument(help="The job.")],
    actor: Annotated[str, _ACTOR],
) -> None:
    """The job's review requests, newest first, with their decisions."""
    from ums_pipelines.compliance.access import job_department
    from ums_pipelines.compliance.review_hook import requests_of

    with (
        open_store() as (store, settings),
        acting(store, actor, "review.status", job_department(job_id)),
        store.reading() as session,
    ):
        rows = requests_of(session, job_id)
        if not rows:
            _console().print(f"job {escape(job_id)} has no review request")
            return
        table = Table("request", "via", "status", "requested", "by", "decided by", "reason",
                      title=f"Review requests of {job_id}", title_justify="left")  # fmt: skip
        for r in rows:
            when = as_utc(r.requested_at).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
            reason = " ".join(x for x in (r.reason_code, r.reason) if x)
            table.add_row(r.request_ref, r.via, r.status, when, escape(r.requested_by),
                          escape(r.decided_by or ""), escape(reason))  # fmt: skip
        _console().print(table)
