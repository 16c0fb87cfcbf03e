"""``ums interface check|replay|quarantine``: debugging customer change-file interfaces.

``check`` shows how UMS reads a file, record by record and field by field, without
touching the store; ``quarantine`` lists the rows a sync set aside; ``replay`` applies one
of them again after correction. Personal data is masked on the terminal: a business team
debugging an interface needs the shape of a value, not the customer's number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.customers.changefile import ChangeFileError
from ums_pipelines.customers.fieldview import mask_record, row_view
from ums_pipelines.customers.formats import read_change_file
from ums_pipelines.customers.layout import Layout, LayoutError, load_layout
from ums_pipelines.customers.sync import check_row
from ums_pipelines.masking import mask_text
from ums_pipelines.settings import get_settings
from ums_pipelines.store import utcnow

__all__ = ["interface_app"]

interface_app = typer.Typer(
    help="Customer change-file interfaces: check a file, list and replay quarantined rows.",
    no_args_is_help=True,
)
ACTOR = typer.Option("--actor", envvar="UMS_ACTOR", help="Who acts (recorded in the audit log).")


def _console() -> Console:
    # Made when printing: COLUMNS is read then (CliRunner and xdist set it per test).
    return Console(soft_wrap=True, highlight=False)


def _print_row(console: Console, view: dict[str, Any]) -> None:
    status = "[green]ok[/green]" if view["valid"] else "[red]invalid[/red]"
    console.print(f"line {view['line']}: {status}")
    if view["raw"] is not None:
        console.print(f"  raw: {escape(view['raw'])}")
    if view["fields"]:
        fixed = any(f["position"] for f in view["fields"])
        table = Table("field", *(["bytes"] if fixed else []), "raw", "parsed", "error")
        for f in view["fields"]:
            raw = "(ignored)" if f["ignored"] else escape(repr(f["raw"]))
            cells = [escape(f["field"]), *([f["position"] or ""] if fixed else [])]
            table.add_row(*cells, raw, escape(f["parsed"]), escape(f["error"] or ""))
        console.print(table)
    for reason in view["problems"]:
        console.print(f"  [red]{escape(reason)}[/red]")


@interface_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The change file (CSV, JSON Lines or fixed-width).")],
    layout_path: Annotated[
        Path | None, typer.Option("--layout", help="YAML layout of a fixed-width file.")
    ] = None,
    errors_only: Annotated[bool, typer.Option(help="Show only the invalid records.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the records as JSON.")] = False,
    show_personal_data: Annotated[
        bool,
        typer.Option(help="Print values unmasked (needs --actor; audited)."),
    ] = False,
    actor: Annotated[str | None, ACTOR] = None,
) -> None:
    """Parse FILE as a sync would and show each record field by field with its errors.

    Exit status: 0 all records valid, 1 some invalid (or a header/trailer problem),
    2 the file or its layout cannot be used."""
    console = _console()
    settings = get_settings()
    if show_personal_data:
        _audit_unmasked(file, actor)
    layout: Layout | None = None
    try:
        if layout_path is not None:
            layout = load_layout(layout_path)
        data = file.read_bytes()
        source = read_change_file(file.name, data, settings, layout)
    except (LayoutError, ChangeFileError) as exc:
        console.print(f"[red]unparseable[/red]: {escape(mask_text(str(exc)))}")
        raise typer.Exit(2) from None
    except OSError as exc:
        console.print(f"[red]cannot read {escape(file.name)}[/red]: {exc.strerror}")
        raise typer.Exit(2) from None
    now = utcnow()
    views = [
        row_view(r, check_row(r.cells, r.problems, settings, now), show_personal_data, settings.tz)
        for r in source.rows
    ]
    invalid = sum(not v["valid"] for v in views)
    issues: list[dict[str, Any]] = [
        {"line": i.line, "field": i.field, "reason": i.reason} for i in source.file_issues
    ]
    if as_json:
        body = {"format": source.format, "encoding": source.encoding, "records": len(views),
                "invalid": invalid, "warnings": source.warnings, "file_issues": issues,
                "rows": [v for v in views if not (errors_only and v["valid"])]}  # fmt: skip
        typer.echo(json.dumps(body, ensure_ascii=False))
    else:
        console.print(
            f"{escape(file.name)}: {source.format}, {source.encoding}; {len(views)} records,"
            f" {len(views) - invalid} valid, {invalid} invalid"
        )
        for warning in source.warnings:
            console.print(f"[yellow]warning[/yellow]: {escape(warning)}")
        for issue in issues:
            console.print(f"[red]line {issue['line']}[/red]: {escape(issue['reason'])}")
        for view in views:
            if not (errors_only and view["valid"]):
                _print_row(console, view)
    raise typer.Exit(1 if invalid or issues else 0)


def _audit_unmasked(file: Path, actor: str | None) -> None:
    from ums_pipelines.audit import record
    from ums_pipelines.cli.common import open_store

    if not actor or not actor.strip():
        _console().print("[red]--show-personal-data needs --actor (or UMS_ACTOR)[/red]")
        raise typer.Exit(2)
    from ums_pipelines.compliance.access import AccessDenied, guard
    from ums_pipelines.customers.replay import ACCESS_ACTION

    with open_store() as (store, _):
        try:
            guard(store, actor.strip(), ACCESS_ACTION, None)
        except AccessDenied as exc:
            _console().print(f"[red]refused[/red]: {escape(str(exc))}")
            raise typer.Exit(1) from None
        with store.session() as session:
            record(session, actor.strip()[:64], "interface.check.unmasked", "file", file.name[:64])


@interface_app.command("quarantine")
def quarantine(
    actor: Annotated[str, ACTOR],
    file_id: Annotated[
        int | None, typer.Option("--file", help="Only rows of this file id.")
    ] = None,
    pending: Annotated[bool, typer.Option(help="Only rows not replayed yet.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """List quarantined rows with their reasons (personal data masked)."""
    from ums_pipelines.cli.common import acting, open_store
    from ums_pipelines.customers.sync import quarantined_rows

    with open_store() as (store, _), acting(store, actor, "customers.quarantine"):
        rows = quarantined_rows(store)
    rows = [q for q in rows if (file_id is None or q.file_id == file_id)]
    rows = [q for q in rows if not (pending and q.replayed_at is not None)]
    out: list[dict[str, Any]] = [
        {
            "id": q.id,
            "file_id": q.file_id,
            "file": q.file_name,
            "line": q.line_no,
            "customer_id": str((q.cells or {}).get("customer_id") or "") or None,
            "field": q.field,
            "reason": mask_text(q.reason),
            "raw": mask_record(q.raw),
            "replayed_at": q.replayed_at.isoformat() if q.replayed_at else None,
            "replayed_by": q.replayed_by,
        }
        for q in rows
    ]
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    table = Table("id", "file", "line", "customer", "field", "reason", "raw", "replayed")
    for r in out:
        replayed = f"{r['replayed_at'][:19]} by {r['replayed_by']}" if r["replayed_at"] else ""
        table.add_row(
            str(r["id"]), escape(f"{r['file_id']} {r['file']}"), str(r["line"]),
            escape(r["customer_id"] or ""), escape(r["field"] or ""), escape(r["reason"]),
            escape(r["raw"]), escape(replayed),
        )  # fmt: skip
    _console().print(table)
    _console().print(f"{len(out)} quarantined row(s)")


@interface_app.command("replay")
def replay(
    row_id: Annotated[
        int, typer.Argument(help="Id of the quarantined row (ums interface quarantine).")
    ],
    actor: Annotated[str, ACTOR],
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="A correction FIELD=VALUE (repeatable); VALUE may be empty."),
    ] = None,
) -> None:
    """Apply a quarantined row again with corrections: validated again, never over a newer
    change, audited; the row is marked replayed and kept. Exit 1 if it is refused."""
    from ums_pipelines.cli.common import open_store
    from ums_pipelines.customers.replay import ReplayError, replay_row

    corrections: dict[str, str] = {}
    for item in sets or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            _console().print(f"[red]--set {escape(mask_text(item))}: must be FIELD=VALUE[/red]")
            raise typer.Exit(2)
        corrections[name.strip()] = value
    console = _console()
    try:
        with open_store() as (store, settings):
            result = replay_row(store, settings, row_id, corrections, actor)
    except ReplayError as exc:
        console.print(f"[red]not replayed[/red]: {escape(str(exc))}")
        for field, reason in exc.problems:
            console.print(f"  {escape(field or 'row')}: {escape(reason)}")
        raise typer.Exit(1) from None
    fixed = ", ".join(result.corrected) or "none"
    verb = "applied to" if result.outcome == "applied" else "stale (a newer change is stored) for"
    console.print(
        f"[green]row {row_id} replayed[/green]: {verb} customer {escape(result.customer_id)};"
        f" corrected: {escape(fixed)}"
    )
