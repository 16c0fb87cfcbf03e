"""``ums roles grant|revoke|list|bootstrap``: staff roles per department (issue 6).

Grants and revocations are an admin's (for the department granted, or '*'); ``bootstrap``
makes the first admin while there is none. ``ums approval grant|revoke|roles`` are the
same commands under their older names. Exit codes: 0 done, 1 refused, 2 bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from ums_pipelines.cli.common import ACTOR, authorized, open_store
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import as_utc

__all__ = ["bootstrap", "grant", "list_roles", "revoke", "roles_app"]

roles_app = typer.Typer(
    help="Staff roles per department, and the first admin.", no_args_is_help=True
)
_DEPARTMENT = typer.Option("--department", help="The department, or '*' for every one.")
_T = TypeVar("_T")


def _console() -> Console:
    return Console(soft_wrap=True)


def _run(actor: str | None, action: str, department: str | None,
         work: Callable[[Session, Settings], _T]) -> _T:  # fmt: skip
    """Check the role (unless bootstrapping), then act in one transaction; a refusal
    exits 1, bad input 2, with the reason."""
    with open_store() as (store, settings):
        if actor is not None:
            authorized(store, actor, action, department)
        try:
            with store.session() as session:
                return work(session, settings)
        except PermissionError as exc:  # RoleError
            _console().print(f"[red]refused[/red] {escape(str(exc))}")
            raise typer.Exit(1) from exc
        except ValueError as exc:
            _console().print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc


def grant(
    user: Annotated[str, typer.Argument(help="Who receives the role.")],
    role: Annotated[str, typer.Argument(help="author|reviewer|approver|operator|auditor|admin")],
    department: Annotated[str, _DEPARTMENT],
    actor: Annotated[str, ACTOR],
) -> None:
    """Grant a role in a department (an admin's; never to oneself)."""
    from ums_pipelines.compliance.roles import grant_role

    def work(session: Session, settings: Settings) -> str:
        grant_role(session, user, role, department, actor)
        return f"[green]granted[/green] {escape(user)}: {role} in {escape(department)}"

    _console().print(_run(actor, "roles.grant", department, work))


def revoke(
    user: Annotated[str, typer.Argument(help="Whose role ends.")],
    role: Annotated[str, typer.Argument(help="The role.")],
    department: Annotated[str, _DEPARTMENT],
    actor: Annotated[str, ACTOR],
) -> None:
    """Revoke a role (an admin's); the grant stays on record."""
    from ums_pipelines.compliance.roles import revoke_role

    def work(session: Session, settings: Settings) -> str:
        revoke_role(session, user, role, department, actor)
        return f"[yellow]revoked[/yellow] {escape(user)}: {role} in {escape(department)}"

    _console().print(_run(actor, "roles.revoke", department, work))


def list_roles(
    user: Annotated[str, typer.Argument(help="The person.")],
    actor: Annotated[str, ACTOR],
) -> None:
    """The roles a person holds now (an admin's or auditor's view)."""
    from ums_pipelines.compliance.roles import roles_of

    def work(session: Session, settings: Settings) -> None:
        held = roles_of(session, user)
        if not held:
            _console().print(f"{escape(user)} holds no role")
            return
        table = Table("role", "department", "granted by", "granted", title=f"Roles of {user}")
        for row in held:
            at = as_utc(row.granted_at).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S")
            table.add_row(row.role, escape(row.department), escape(row.granted_by), at)
        _console().print(table)

    _run(actor, "roles.list", None, work)


def bootstrap(user: Annotated[str, typer.Argument(help="The first admin.")]) -> None:
    """Make the first admin (for '*'); refused once any active admin exists."""
    from ums_pipelines.compliance.access import bootstrap_admin

    def work(session: Session, settings: Settings) -> str:
        bootstrap_admin(session, user)
        return f"[green]bootstrapped[/green] {escape(user)}: admin in *"

    _console().print(_run(None, "roles.grant", None, work))


roles_app.command("grant")(grant)
roles_app.command("revoke")(revoke)
roles_app.command("list")(list_roles)
roles_app.command("bootstrap")(bootstrap)
