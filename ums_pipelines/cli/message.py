"""``ums message check``: would this text go out on a channel, and as which type?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ums_pipelines.channels.checks import CHECK_CHANNELS, CheckResult, check_message

__all__ = ["message_app"]

message_app = typer.Typer(help="Check messages against each channel's rules.", no_args_is_help=True)
_PURPOSES = ("info", "ad", "auth")
BAD_INPUT = 2


def _bad_input(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(BAD_INPUT)


def _read(file: Path) -> str:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _bad_input(f"--file: {file} does not exist") from None
    except UnicodeDecodeError:
        raise _bad_input(f"--file: {file} is not UTF-8 text") from None
    except OSError as exc:
        raise _bad_input(f"--file: cannot read {file} ({exc.strerror or exc})") from None
    # The newline an editor puts at the end of a file is not part of the message.
    return text.removesuffix("\n").removesuffix("\r")


def _show(result: CheckResult) -> None:
    console = Console()
    summary = Table(show_header=False, box=None)
    verdict = "[green]ok[/green]" if result.ok else "[red]violations[/red]"
    for name, value in (
        ("result", verdict),
        ("channel", result.channel),
        ("message type", result.message_type),
        ("bytes", f"{result.bytes:,}"),
        ("characters", f"{result.chars:,}"),
    ):
        summary.add_row(name, value)
    console.print(summary)
    for title, items, style in (
        ("violations", result.violations, "red"),
        ("warnings", result.warnings, "yellow"),
    ):
        if items:
            table = Table(title=title, title_style=style)
            table.add_column("code", style=style, no_wrap=True)
            table.add_column("message")
            for item in items:
                table.add_row(item.code, item.message)
            console.print(table)


@message_app.command("check")
def check(
    channel: Annotated[str, typer.Option(help=f"One of {', '.join(CHECK_CHANNELS)}.")],
    text: Annotated[str | None, typer.Option(help="The message text.")] = None,
    file: Annotated[
        Path | None, typer.Option(help="A UTF-8 file holding the text (final newline dropped).")
    ] = None,
    subject: Annotated[str | None, typer.Option(help="Subject or title.")] = None,
    purpose: Annotated[str | None, typer.Option(help="info, ad or auth.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
) -> None:
    """Check a text against a channel's limits: exit 0 when it would go out, 1 with
    violations, 2 on bad input."""
    if channel not in CHECK_CHANNELS:
        raise _bad_input(f"--channel: {channel!r} is not one of {', '.join(CHECK_CHANNELS)}")
    if (text is None) == (file is None):
        raise _bad_input("give the message as exactly one of --text or --file")
    if purpose is not None and purpose not in _PURPOSES:
        raise _bad_input(f"--purpose: {purpose!r} is not one of {', '.join(_PURPOSES)}")
    if text is not None:
        body = text
    else:
        assert file is not None  # one of the two, checked above
        body = _read(file)
    result = check_message(channel, body, subject=subject, purpose=purpose)
    if as_json:
        typer.echo(json.dumps(result.contract(), ensure_ascii=False))
    else:
        _show(result)
    raise typer.Exit(0 if result.ok else 1)
