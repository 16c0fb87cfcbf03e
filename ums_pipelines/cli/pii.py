"""``ums pii scan``: PII findings in files and directories, masked.

Exit status: 0 no findings, 1 findings, 2 when any input could not be read (the readable
files are still scanned and reported).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.compliance.pii import UnreadableFileError, iter_files, scan_file

__all__ = ["pii_app"]

console = Console()
pii_app = typer.Typer(
    help="PII detection in templates and attachments (text, CSV, HTML, PDF, XLSX).",
    no_args_is_help=True,
)


@pii_app.callback()
def _group() -> None:
    """PII detection in templates and attachments (text, CSV, HTML, PDF, XLSX)."""
    # A callback keeps ``scan`` a subcommand even while it is the group's only command.


@pii_app.command("scan")
def scan(
    paths: Annotated[
        list[Path], typer.Argument(help="Files or directories (walked, hidden entries skipped).")
    ],
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print a JSON list of {file, type, start, end, masked}."),
    ] = False,
) -> None:
    """Scan files for RRNs, foreigner numbers, passports, licences, BRNs, cards, accounts,
    phone numbers and e-mail addresses; values are always shown masked."""
    rows: list[dict[str, str | int]] = []
    unreadable = False
    for path in paths:
        if not path.exists():
            _unreadable(f"{path}: no such file or directory")
            unreadable = True
    for path in iter_files(p for p in paths if p.exists()):
        try:
            findings = scan_file(path)
        except UnreadableFileError as exc:
            _unreadable(str(exc))
            unreadable = True
            continue
        rows.extend(
            {"file": str(path), "type": f.type, "start": f.start, "end": f.end, "masked": f.masked}
            for f in findings
        )
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif rows:
        table = Table(title=f"PII findings ({len(rows)})")
        for column in ("file", "type", "start", "end", "masked"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(
                *(escape(str(row[key])) for key in ("file", "type", "start", "end", "masked"))
            )
        console.print(table)
    else:
        console.print("no PII found")
    if unreadable:
        raise typer.Exit(2)
    raise typer.Exit(1 if rows else 0)


def _unreadable(message: str) -> None:
    # Plain echo, not Rich: a long path must stay on one line for whoever greps the output.
    typer.secho(f"unreadable: {message}", err=True, fg=typer.colors.RED)
