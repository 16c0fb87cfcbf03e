"""``ums cost report --month YYYY-MM`` and ``ums cost reconcile INVOICE --provider P
--month M``: monthly costs from the outbox, and a provider's invoice checked against what
we delivered (docs/costs.md). Reconcile exits 0 when it matches, 1 with differences, 2
on bad input."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, acting, open_store

__all__ = ["cost_app"]

cost_app = typer.Typer(help="Costs per month (KST) and provider invoice reconciliation.")


def _won(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')).normalize():,f}"


def _fail(console: Console, exc: Exception) -> typer.Exit:
    console.print(f"[red]{escape(str(exc))}[/red]")
    return typer.Exit(2)


@cost_app.command("report")
def report(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (Korea time).")],
    by: Annotated[
        str,
        typer.Option(
            help="Group by these, comma-separated: department, channel, provider, message_type."
        ),
    ] = "department,channel,provider",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    actor: Annotated[str, ACTOR] = "",
) -> None:
    """Delivered (billed) counts and amounts, test sends apart, and the rows that cost
    nothing (failed, expired, cancelled; in flight as 'other')."""
    from ums_pipelines.settlement import SettlementError, roll_up, settle

    console = Console(soft_wrap=True)
    names = [name.strip() for name in by.split(",") if name.strip()]
    try:
        with open_store() as (store, settings), acting(store, actor, "cost.report", "*"):
            lines = roll_up(settle(store, settings, month), names)
    except SettlementError as exc:
        raise _fail(console, exc) from exc
    if as_json:
        data = [
            {
                **{name: getattr(c, name) for name in names},
                "delivered": c.delivered,
                "amount_krw": str(c.amount),
                "test_delivered": c.test_delivered,
                "test_amount_krw": str(c.test_amount),
                "failed": c.failed,
                "expired": c.expired,
                "cancelled": c.cancelled,
                "other": c.other,
            }
            for c in lines
        ]
        typer.echo(json.dumps({"month": month, "by": names, "lines": data}, ensure_ascii=False))
        return
    if not lines:
        console.print(f"no messages in {month}")
        return
    table = Table(title=f"Costs {month} (KRW, Korea time)", title_justify="left")
    counts = ("delivered", "amount", "test", "test amount", "failed", "expired", "cancelled")
    for name in (*names, *counts, "other"):
        table.add_column(name, justify="left" if name in names else "right")
    for c in lines:
        table.add_row(
            *(getattr(c, name) for name in names),
            f"{c.delivered:,}",
            _won(c.amount),
            f"{c.test_delivered:,}",
            _won(c.test_amount),
            *(f"{n:,}" for n in (c.failed, c.expired, c.cancelled, c.other)),
        )
    total = roll_up(lines, [])[0]
    console.print(table)
    console.print(f"total {_won(total.amount)} KRW, test sends {_won(total.test_amount)} KRW")


@cost_app.command("reconcile")
def reconcile_cmd(
    invoice: Annotated[Path, typer.Argument(help="The provider's invoice summary CSV.")],
    provider: Annotated[str, typer.Option(help="The provider invoicing.")],
    month: Annotated[str, typer.Option(help="The month invoiced, YYYY-MM (Korea time).")],
    detail: Annotated[
        Path | None, typer.Option(help="The per-message detail CSV, if the provider sent one.")
    ] = None,
    tolerance: Annotated[
        str, typer.Option(help="Amount differences up to this many won are rounding.")
    ] = "1",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    actor: Annotated[str, ACTOR] = "",
) -> None:
    """Every difference between a provider's invoice and what we delivered through it."""
    from decimal import InvalidOperation

    from ums_pipelines.settlement import (
        InvoiceError,
        SettlementError,
        month_bounds,
        read_detail,
        read_invoice,
        reconcile,
    )

    console = Console(soft_wrap=True)
    try:
        allowed = Decimal(tolerance)
        if not allowed.is_finite() or allowed < 0:
            raise InvalidOperation
    except InvalidOperation as exc:
        raise _fail(console, ValueError(f"tolerance: {tolerance!r} must be 0 or more")) from exc
    try:
        with open_store() as (store, settings), acting(store, actor, "cost.reconcile", "*"):
            month_bounds(month, settings)
            lines = read_invoice(invoice, provider, month)
            rows = read_detail(detail) if detail is not None else None
            result = reconcile(store, settings, provider, month, lines, rows, tolerance=allowed)
    except InvoiceError as exc:
        for problem in exc.problems:
            console.print(f"[red]{escape(exc.path.name)}: {escape(problem)}[/red]")
        raise typer.Exit(2) from exc
    except SettlementError as exc:
        raise _fail(console, exc) from exc
    code = 0 if result.matches else 1
    if as_json:
        data = {
            "provider": provider,
            "month": month,
            "matches": result.matches,
            "types": [
                {
                    "message_type": t.message_type,
                    "delivered": t.delivered,
                    "amount_krw": str(t.amount),
                    "billed": t.billed,
                    "billed_amount_krw": str(t.billed_amount),
                }
                for t in result.types
            ],
            "differences": [d.as_dict() for d in result.differences],
        }
        typer.echo(json.dumps(data, ensure_ascii=False))
        raise typer.Exit(code)
    table = Table(title=f"{provider} {month}: ours vs invoiced", title_justify="left")
    for name in ("type", "delivered", "amount", "billed", "billed amount"):
        table.add_column(name, justify="left" if name == "type" else "right")
    for t in result.types:
        table.add_row(
            t.message_type,
            f"{t.delivered:,}",
            _won(t.amount),
            f"{t.billed:,}",
            _won(t.billed_amount),
        )
    console.print(table)
    if result.matches:
        console.print("[green]the invoice matches[/green]")
        raise typer.Exit(0)
    diffs = Table(title=f"{len(result.differences)} difference(s)", title_justify="left")
    for name in ("kind", "type", "message", "ours", "billed", "line"):
        diffs.add_column(name)
    for d in result.differences:
        diffs.add_row(
            d.kind,
            d.message_type,
            d.message_key or "",
            d.ours or "",
            d.billed or "",
            "" if d.line is None else str(d.line),
        )
    console.print(diffs)
    raise typer.Exit(code)
