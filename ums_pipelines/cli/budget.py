"""``ums budget set DEPT YYYY-MM AMOUNT --actor X`` and ``ums budget show [DEPT]``: a
department's messaging budget per Korea-time month, and its spent, committed and
remaining money (``compliance.budgets`` says what each counts)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from ums_pipelines.cli.common import acting, open_store

__all__ = ["budget_app"]

budget_app = typer.Typer(help="Department budgets per month (KST) and their spend.")
_ACTOR = typer.Option("--actor", envvar="UMS_ACTOR", help="Who acts (recorded in the audit log).")


def _won(amount: Decimal | None) -> str:
    return "-" if amount is None else f"{amount.quantize(Decimal(1)):,}"


@budget_app.command("set")
def budget_set(
    department: Annotated[str, typer.Argument(help="The department.")],
    month: Annotated[str, typer.Argument(help="The month, YYYY-MM (Korea time).")],
    amount: Annotated[str, typer.Argument(help="The budget in won, e.g. 5000000.")],
    actor: Annotated[str, _ACTOR] = "",
) -> None:
    """Set (or change) a department's budget for a month; audited with the old amount."""
    from ums_pipelines.compliance.budgets import BudgetError, set_budget

    console = Console(soft_wrap=True)
    try:
        with (
            open_store() as (store, _),
            acting(store, actor, "budget.set", department),
            store.session() as session,
        ):
            row = set_budget(session, department, month, amount, actor)
            text = f"budget {department} {month}: {_won(row.budget_krw)} KRW (set by {actor})"
    except BudgetError as exc:
        console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(2) from exc
    console.print(text)


@budget_app.command("show")
def budget_show(
    actor: Annotated[str, _ACTOR],
    department: Annotated[
        str | None, typer.Argument(help="One department (default: every budgeted one).")
    ] = None,
    month: Annotated[
        str | None, typer.Option(help="The month, YYYY-MM (default: this month, KST).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Budget, spent, committed and remaining money per department for a month."""
    from ums_pipelines.compliance.budgets import BudgetError, month_of, month_spend
    from ums_pipelines.store.compliance import DepartmentBudget
    from ums_pipelines.store.engine import utcnow

    console = Console(soft_wrap=True)
    try:
        with (
            open_store() as (store, settings),
            acting(store, actor, "budget.show", department),
            store.reading() as session,
        ):
            month = month or month_of(utcnow(), settings)
            if department is not None:
                names = [department]
            else:
                query = select(DepartmentBudget.department).where(DepartmentBudget.month == month)
                names = sorted(session.scalars(query))
            rows = [month_spend(session, settings, name, month) for name in names]
    except BudgetError as exc:
        console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(2) from exc
    if as_json:
        data = [
            {
                "department": r.department,
                "month": r.month,
                **{
                    k: None if v is None else str(v)
                    for k, v in (
                        ("budget_krw", r.budget),
                        ("spent_krw", r.spent),
                        ("committed_krw", r.committed),
                        ("remaining_krw", r.remaining),
                    )
                },
            }
            for r in rows
        ]
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    if not rows:
        console.print(f"no budgets for {month}")
        return
    table = Table(title=f"Budgets {month} (KRW)", title_justify="left")
    for name in ("department", "budget", "spent", "committed", "remaining"):
        table.add_column(name, justify="left" if name == "department" else "right")
    for r in rows:
        table.add_row(
            r.department, _won(r.budget), _won(r.spent), _won(r.committed), _won(r.remaining)
        )
    console.print(table)
