"""``ums content submit|review|reasons|history``: the content review workflow from the
shell (registered on ``content_app`` by ``cli/content.py``). Refusals and blocking
findings exit 1 with the reason; a bad combination of options exits 2."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, acting, open_store
from ums_pipelines.compliance.access import content_department

if TYPE_CHECKING:  # the checks load compose and the renderer: only when a command runs
    from ums_pipelines.content.review_checks import ReviewFinding

__all__ = ["history", "reasons", "review", "submit"]

console = Console(soft_wrap=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]{escape(message)}[/red]")
    return typer.Exit(code)


def _table(title: str, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    if not console.is_terminal:  # a pipe or a file: rows are not cut at 80 columns
        console.width = max(console.width, 160)
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)


def _when(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _print_findings(findings: Sequence[ReviewFinding]) -> None:
    """One line a finding (grep-able, never cut by the table width); values are masked."""
    for f in findings:
        mark = "[red]blocks[/red]" if f.blocking else "[yellow]warns[/yellow]"
        console.print(f"{mark} {f.kind} {escape(f.code)}: {escape(f.message)}", highlight=False)


def submit(
    actor: Annotated[str, ACTOR],
    code: Annotated[str, typer.Argument(help="The item's code.")],
    version: Annotated[int, typer.Argument(help="The draft version (the newest).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Submit a draft for review: PII, forbidden words, channel and advertising rules are
    checked first; a blocking finding keeps it a draft (exit 1)."""
    from ums_pipelines.content.review import submit_for_review

    with (
        open_store() as (store, settings),
        acting(store, actor, "content.submit", content_department(code)),
    ):
        try:
            with store.session() as session:
                result = submit_for_review(session, code, version, actor, settings)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    if as_json:
        findings = [f.as_dict() for f in result.findings]
        typer.echo(json.dumps({"code": code, "version": version, "status": result.status,
                               "findings": findings}, ensure_ascii=False))  # fmt: skip
    else:
        _print_findings(result.findings)
    if result.blocking:
        raise _fail(f"{code} v{version} stays a draft: {len(result.blocking)} blocking finding(s)")
    if not as_json:
        console.print(f"{escape(code)} v{version} in review (submitted by {escape(actor)})")


def review(
    actor: Annotated[str, ACTOR],
    code: Annotated[str, typer.Argument(help="The item's code.")],
    version: Annotated[int, typer.Argument(help="The version in review.")],
    passed: Annotated[bool, typer.Option("--pass", help="It passes review.")] = False,
    reject: Annotated[
        str | None, typer.Option("--reject", help="Reject it for this reason code (see reasons).")
    ] = None,
    note: Annotated[str | None, typer.Option(help="A note to the author.")] = None,
) -> None:
    """Pass a version in review (it can then be approved) or reject it with a reason the
    author sees; the reviewer holds reviewer or approver for the department."""
    from ums_pipelines.content.review import review_version

    if passed == (reject is not None):
        raise _fail("give exactly one of --pass or --reject REASON", 2)
    with (
        open_store() as (store, _),
        acting(store, actor, "content.review", content_department(code)),
    ):
        try:
            with store.session() as session:
                decided = review_version(
                    session, code, version, actor, "pass" if passed else "reject", reject, note
                )
        except ValueError as exc:
            raise _fail(str(exc)) from None
    line = f"{escape(code)} v{version} {decided.status} by {escape(actor)}"
    if decided.reason is not None:
        line += f": {escape(decided.reason.code)} {escape(decided.reason.text)}"
    console.print(line)


def reasons(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """The managed list of rejection reasons, the same as `ums approval reasons`
    (UMS_REJECTION_REASONS_FILE adds some)."""
    from ums_pipelines.compliance.reasons import rejection_reasons

    try:
        found = rejection_reasons()
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    if as_json:
        rows = [{"code": r.code, "ko": r.ko, "en": r.en} for r in found.values()]
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    _table("Rejection reasons", ("code", "한국어", "English"),
           [(r.code, r.ko, r.en) for r in found.values()])  # fmt: skip


def history(
    actor: Annotated[str, ACTOR],
    code: Annotated[str, typer.Argument(help="The item's code.")],
    version: Annotated[int | None, typer.Option(help="Only this version.")] = None,
) -> None:
    """Writes, submissions, findings' codes, review decisions with their reasons and
    approvals of an item, from the audit log."""
    from ums_pipelines.content.review import review_trail

    with (
        open_store() as (store, settings),
        acting(store, actor, "content.history", content_department(code)),
        store.reading() as session,
    ):
        try:
            trail = review_trail(session, code, version)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    tz = ZoneInfo(settings.timezone)
    rows = []
    for e in trail:
        d = e.detail
        said = d.get("reason") or ", ".join(d.get("codes") or ()) or d.get("note")
        step = e.action.removeprefix("content.")
        rows.append((_when(e.at, tz), f"v{d.get('version', '-')}", step, e.actor, said or "-"))
    _table(f"{code}: review history", ("at", "version", "step", "by", "reason / findings"), rows)
