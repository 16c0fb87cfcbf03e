"""``ums content add|list|show|approve|retire|export`` (and the review's
``submit|review|reasons|history``): the content bank from the shell,
with items in YAML or JSON files (``content/document.py``)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.channels.encoding import NotEncodable, cp949_len
from ums_pipelines.cli.common import ACTOR, acting, open_store
from ums_pipelines.cli.content_review import history, reasons, review, submit
from ums_pipelines.compliance.access import content_department
from ums_pipelines.content.document import SUFFIXES, LoadedItem, VariantDocument
from ums_pipelines.content.spec import VariableSpec
from ums_pipelines.store import Store

__all__ = ["content_app"]

# Soft wrap: a result line or reason is one line, however narrow the terminal or pipe.
console = Console(soft_wrap=True)
content_app = typer.Typer(
    help="The content bank: items with a variant per channel, versioned and approved.",
    no_args_is_help=True,
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]{escape(message)}[/red]")
    return typer.Exit(code)


def _failed(reason: str) -> int:
    console.print(f"[red]FAILED[/red] {escape(reason)}")
    return 1


def _add_item(store: Store, item: LoadedItem, actor: str, approve: bool) -> int:
    """Add one item in its own transaction and print its line; 1 if it failed."""
    from ums_pipelines.compliance.access import AccessDenied, guard
    from ums_pipelines.content.bank import add_content

    if item.document is None:
        return _failed(f"{item.label}: {item.error}")
    try:
        guard(store, actor, "content.add", item.document.department)
    except AccessDenied as exc:
        return _failed(f"{item.label}: {item.document.code}: refused {exc}")
    try:
        with store.session() as session:
            result = add_content(session, item.document, actor, approve=approve)
    except ValueError as exc:  # ContentError, JobError, TemplateError
        return _failed(f"{item.label}: {item.document.code}: {exc}")
    what = "written" if result.created else "unchanged"
    console.print(
        f"[green]ok[/green] {escape(item.label)}: {escape(result.code)}"
        f" v{result.version} {what} ({result.status})"
    )
    return 0


@content_app.command("add")
def add(
    files: Annotated[list[Path], typer.Argument(help="Content files (.yaml, .yml, .json).")],
    actor: Annotated[str, ACTOR],
    draft: Annotated[
        bool, typer.Option("--draft", help="Write drafts: nothing is sent until approved.")
    ] = False,
) -> None:
    """Add every item of every file; a bad item is reported and the others still go in."""
    from ums_pipelines.content.document import DocumentError, read_items

    failed = 0
    with open_store() as (store, _):
        for path in files:
            try:
                items = read_items(path)
            except DocumentError as exc:
                failed += _failed(str(exc))
                continue
            failed += sum(_add_item(store, item, actor, not draft) for item in items)
    if failed:
        raise _fail(f"{failed} item(s) or file(s) failed")


def _when(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if value else "-"


@content_app.command("list")
def list_(
    actor: Annotated[str, ACTOR],
    search: Annotated[
        str | None, typer.Option(help="Text in the code, name or the newest texts.")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Items with this tag.")] = None,
    department: Annotated[str | None, typer.Option(help="Items of this department.")] = None,
    purpose: Annotated[str | None, typer.Option(help="informational, advertising or auth.")] = None,
    channel: Annotated[str | None, typer.Option(help="Items with a variant for it.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Include retired items.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """Content items by code, with their newest version and status."""
    from ums_pipelines.content.bank import list_content

    with (
        open_store() as (store, settings),
        acting(store, actor, "content.list", department),
        store.reading() as session,
    ):
        try:
            items = list_content(
                session,
                search=search,
                tag=tag,
                department=department,
                purpose=purpose,
                channel=channel,
                include_retired=show_all,
            )
        except ValueError as exc:
            raise _fail(str(exc), 2) from None
    if as_json:
        rows = [{**vars(s), "tags": list(s.tags), "channels": list(s.channels)} for s in items]
        typer.echo(json.dumps(rows, ensure_ascii=False, default=datetime.isoformat))
        return
    tz = ZoneInfo(settings.timezone)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    table = Table(title=f"Content items: {len(items)}", title_justify="left")
    fixed = ("code", "newest", "approved", "valid until")
    for column in ("code", "name", "purpose", "type", "department", "tags", "channels", *fixed[1:]):
        table.add_column(column, no_wrap=column in fixed)
    for s in items:
        texts = (s.code, s.name, s.purpose, s.content_type, s.department, ", ".join(s.tags))
        table.add_row(
            *(escape(x or "-") for x in texts),
            ", ".join(s.channels),
            f"v{s.version} {'retired' if s.retired else s.status}",
            f"v{s.approved_version}" if s.approved_version else "-",
            _when(s.valid_until, tz),
        )
    console.print(table)


def _counts(channel: str, text: str) -> str:
    """Characters, and bytes as the channel counts them (EUC-KR for SMS/LMS/MMS)."""
    if channel != "sms":
        return f"{len(text)} chars, {len(text.encode())} bytes UTF-8"
    try:
        return f"{len(text)} chars, {cp949_len(text, 'body')} bytes EUC-KR"
    except NotEncodable as exc:
        return f"{len(text)} chars, not EUC-KR ({exc})"


def _print_variant(v: VariantDocument) -> None:
    console.rule(f"[b]{v.channel}[/b]", align="left")
    if v.provider_template_code:
        console.print(f"provider template: {escape(v.provider_template_code)}")
    parts = [("subject", v.subject), ("body", v.body), ("html_body", v.html_body)]
    for label, text in parts:
        if text:
            console.print(f"[dim]{label} ({_counts(v.channel, text)})[/dim]")
            console.print(escape(text), highlight=False)
    payload = v.payload.to_json()
    if payload:
        console.print("[dim]payload[/dim]")
        console.print_json(json.dumps(payload, ensure_ascii=False))


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)


def _reads(spec: VariableSpec) -> str:
    """What a variable's value comes from, as the kind defines it."""
    kind = spec.kind.value
    if kind == "short_url":
        return f"link to {spec.target}"
    if kind == "feedback_url":
        return "link to the feedback page"
    if kind == "phrase":
        return f"phrase for {spec.occasion or 'the job occasion or season'}"
    if kind == "image" and spec.choices:
        return f"{spec.source_field}: {', '.join(spec.choices)}"
    return f"{kind}.{spec.source_field}"


@content_app.command("show")
def show(
    actor: Annotated[str, ACTOR],
    code: Annotated[str, typer.Argument(help="The item's code.")],
    version: Annotated[int | None, typer.Option(help="A version (default the newest).")] = None,
) -> None:
    """An item's attributes, versions, variables and every variant's text with counts
    (of the template text: rendered messages differ by the values of their tags)."""
    from ums_pipelines.content.bank import show_content

    with (
        open_store() as (store, settings),
        acting(store, actor, "content.show", content_department(code)),
        store.reading() as session,
    ):
        try:
            view = show_content(session, code, version)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    tz = ZoneInfo(settings.timezone)
    doc = view.document
    attrs: list[tuple[str, Any]] = [
        ("code", doc.code),
        ("name", doc.name),
        ("purpose", doc.purpose.value),
        ("content type", doc.content_type),
        ("department", doc.department),
        ("service code", doc.service_code),
        ("tags", ", ".join(doc.tags)),
        ("valid", f"{_when(doc.valid_from, tz)} .. {_when(doc.valid_until, tz)}"),
        ("approvals", ", ".join(f"{k}={v}" for k, v in doc.approval_ids.items())),
        ("retired", _when(view.retired_at, tz) if view.retired_at else None),
        ("shown", f"version {view.version} ({view.status})"),
    ]
    for label, value in attrs:
        console.print(f"[b]{label:>13}[/b]  {escape(str(value or '-'))}")
    _table(
        "Versions",
        ("version", "status", "channels", "created", "approved by", "approved at"),
        [
            (str(v.version), v.status, ", ".join(v.channels), _when(v.created_at, tz),
             v.approved_by or "-", _when(v.approved_at, tz))
            for v in view.versions
        ],
    )  # fmt: skip
    _table(
        "Variables",
        ("name", "kind", "reads", "type", "required", "max", "default", "mask"),
        [
            (s.name, s.kind.value, _reads(s), s.type, "yes" if s.required else "no",
             str(s.max_length or "-"), s.default or "-", s.mask)
            for s in doc.variables
        ],
    )  # fmt: skip
    for variant in doc.variants:
        _print_variant(variant)


@content_app.command("approve")
def approve(
    code: Annotated[str, typer.Argument(help="The item's code.")],
    version: Annotated[
        int, typer.Argument(help="The version to approve (reviewed, where review is required).")
    ],
    actor: Annotated[str, ACTOR],
) -> None:
    """Approve a version (a reviewed one where review is required; never by its author):
    new jobs send it from now on."""
    from ums_pipelines.content.bank import approve_version

    with (
        open_store() as (store, _),
        acting(store, actor, "content.approve", content_department(code)),
    ):
        try:
            with store.session() as session:
                approve_version(session, code, version, actor)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    console.print(f"{escape(code)} v{version} approved by {escape(actor)}")


@content_app.command("retire")
def retire(
    code: Annotated[str, typer.Argument(help="The item's code.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
    actor: Annotated[str, ACTOR],
) -> None:
    """Retire an item: no new job may use it; jobs already registered run on."""
    from ums_pipelines.content.bank import retire_content

    with (
        open_store() as (store, _),
        acting(store, actor, "content.retire", content_department(code)),
    ):
        try:
            with store.session() as session:
                retire_content(session, code, actor, reason)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    console.print(f"{escape(code)} retired")


@content_app.command("export")
def export(
    actor: Annotated[str, ACTOR],
    code: Annotated[str, typer.Argument(help="The item's code.")],
    out: Annotated[Path, typer.Option("--out", help="File to write (.yaml, .yml or .json).")],
    version: Annotated[int | None, typer.Option(help="A version (default the newest).")] = None,
) -> None:
    """Write an item as a content file; adding the file back changes nothing."""
    from ums_pipelines.content.bank import export_content
    from ums_pipelines.content.document import dump_document

    if out.suffix.lower() not in SUFFIXES:
        raise _fail(f"--out: {out.name} is not a .yaml, .yml or .json file", 2)
    with (
        open_store() as (store, settings),
        acting(store, actor, "content.export", content_department(code)),
        store.reading() as session,
    ):
        try:
            doc = export_content(session, code, version)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    try:
        dump_document(doc, out, tz=ZoneInfo(settings.timezone))
    except ValueError as exc:
        raise _fail(str(exc)) from None
    console.print(f"wrote {escape(str(out))} ({escape(code)})")


# The review workflow's commands (content_review.py: this module stays readable).
for _name, _command in (("submit", submit), ("review", review), ("reasons", reasons),
                        ("history", history)):  # fmt: skip
    content_app.command(_name)(_command)
