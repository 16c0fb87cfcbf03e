"""``ums approval approve|reject|status|reasons``: four-eyes approval of jobs by the
department head (``grant|revoke|roles``: the older names of ``ums roles``).

Exit codes: 0 done, 1 refused (the author deciding, a missing role, a closed job),
2 bad input (an unknown job, role or rejection reason).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from ums_pipelines.cli.common import ACTOR, authorized, open_store
from ums_pipelines.cli.roles import grant, list_roles, revoke
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import as_utc

__all__ = ["approval_app"]


def _console() -> Console:
    # Made when a command prints, not at import: the width (COLUMNS) is read then.
    return Console(soft_wrap=True)


approval_app = typer.Typer(
    help="Four-eyes approval of jobs by the department head, and staff roles.",
    no_args_is_help=True,
)
_T = TypeVar("_T")


def _run(actor: str, action: str, job_id: str, work: Callable[[Session, Settings], _T]) -> _T:
    """Check the actor's role for the job's department, then run one action in a
    transaction; a refusal exits 1, bad input 2, with the reason."""
    from ums_pipelines.compliance.access import job_department

    try:
        with open_store() as (store, settings):
            authorized(store, actor, action, job_department(job_id))
            with store.session() as session:
                return work(session, settings)
    except PermissionError as exc:  # ApprovalError, RoleError
        _console().print(f"[red]refused[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    except KeyError as exc:
        _console().print(f"[red]{escape(str(exc.args[0]))}[/red]")
        raise typer.Exit(2) from exc
    except ValueError as exc:
        _console().print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc


def _when(value: datetime | None, settings: Settings) -> str:
    if value is None:
        return ""
    return as_utc(value).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S")


@approval_app.command("approve")
def approve(
    job_id: Annotated[str, typer.Argument(help="The job to approve, as it is now.")],
    actor: Annotated[str, ACTOR],
    reason: Annotated[str | None, typer.Option(help="A note kept with the approval.")] = None,
) -> None:
    """Approve a targeted job as its department head; never its author. Any later change
    to its content version, target count, routes, sender, window or values voids it."""
    from ums_pipelines.compliance.approvals import approve_job

    def work(session: Session, settings: Settings) -> str:
        row = approve_job(session, job_id, actor, reason)
        return (
            f"[green]approved[/green] job {escape(job_id)} by {escape(actor)}:"
            f" content v{row.content_version}, {row.target_count:,} targets,"
            f" fingerprint {row.fingerprint[:12]}"
        )

    _console().print(_run(actor, "job.approve", job_id, work))


@approval_app.command("reject")
def reject(
    job_id: Annotated[str, typer.Argument(help="The job to reject.")],
    actor: Annotated[str, ACTOR],
    reason: Annotated[str, typer.Option("--reason", help="A code of `ums approval reasons`.")],
    note: Annotated[str | None, typer.Option(help="What to fix (needed for OTHER).")] = None,
) -> None:
    """Reject a job for a listed reason; its standing approvals are voided."""
    from ums_pipelines.compliance.approvals import reject_job

    def work(session: Session, settings: Settings) -> str:
        row = reject_job(session, job_id, actor, reason, note)
        return f"[yellow]rejected[/yellow] job {escape(job_id)} by {escape(actor)}: {row.reason}"

    _console().print(_run(actor, "job.reject", job_id, work))


@approval_app.command("reasons")
def reasons() -> None:
    """The managed list of rejection reasons, the same as `ums content reasons`
    (UMS_REJECTION_REASONS_FILE adds some)."""
    from ums_pipelines.compliance.reasons import rejection_reasons

    try:
        found = rejection_reasons()
    except ValueError as exc:
        _console().print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    table = Table("code", "한국어", "English", title="Rejection reasons", title_justify="left")
    for r in found.values():
        table.add_row(r.code, r.ko, r.en)
    _console().print(table)


@approval_app.command("status")
def status(
    job_id: Annotated[str, typer.Argument(help="The job.")],
    actor: Annotated[str, ACTOR],
) -> None:
    """Whether the job needs approval, whether it has a valid one, and every decision."""
    from ums_pipelines.compliance.gate import approval_state

    def work(session: Session, settings: Settings) -> None:
        state = approval_state(session, settings, job_id)
        _console().print(f"job {escape(job_id)}  fingerprint {state.fingerprint[:12]}")
        _console().print(f"needs approval: {escape(state.needed or 'no')}")
        if state.blocks:
            checks = ", ".join(str(b.get("check")) for b in state.blocks)
            _console().print(
                f"[red]blocked[/red] by stage checks ({escape(checks)}): fix them or have an"
                " approver acknowledge them (ums job checks)"
            )
        elif state.valid is not None:
            _console().print(
                f"[green]approved[/green] by {escape(state.valid.decided_by)}"
                f" at {_when(state.valid.decided_at, settings)}: may send"
            )
        elif state.needed is None:
            _console().print("[green]may send[/green] without approval")
        else:
            _console().print(f"[red]awaiting approval[/red]: {escape(state.missing or '')}")
        if not state.history:
            return
        table = Table("decided", "by", "decision", "targets", "v", "reason", "voided")
        for row in state.history:
            voided = f"{_when(row.voided_at, settings)} {row.void_reason}" if row.voided_at else ""
            table.add_row(
                _when(row.decided_at, settings),
                escape(row.decided_by),
                row.decision,
                "" if row.target_count is None else f"{row.target_count:,}",
                str(row.content_version or ""),
                escape(row.reason or ""),
                escape(voided),
            )
        _console().print(table)

    _run(actor, "job.status", job_id, work)


# The older names of `ums roles grant|revoke|list` (cli/roles.py), kept working.
approval_app.command("grant", help="Same as `ums roles grant`.")(grant)
approval_app.command("revoke", help="Same as `ums roles revoke`.")(revoke)
approval_app.command("roles", help="Same as `ums roles list`.")(list_roles)
