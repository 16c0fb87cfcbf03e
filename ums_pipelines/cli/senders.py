"""``ums senders add|update|deactivate|list|export|changes``: the sender registry.

Times are ISO 8601; without a zone they are in the business zone (``UMS_TIMEZONE``). A
bare date means the whole day: ``--valid-from 2026-12-01`` from its start,
``--valid-until 2026-12-31`` to its end.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, acting, open_store

__all__ = ["senders_app"]

console = Console(soft_wrap=True)
senders_app = typer.Typer(
    help="The sender registry: caller numbers, Kakao profiles, RCS brands/chatbots, e-mail"
    " domains, with owner, proof and validity.",
    no_args_is_help=True,
)
_KIND = typer.Option(
    "--kind", help="number, kakao_profile, rcs_brand, rcs_chatbot or email_domain."
)
_CLEAR = ("", "none", "-")  # an update value that clears the field


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]{escape(message)}[/red]")
    return typer.Exit(code)


def _when(field: str, value: str | None, tz: tzinfo, end_of_day: bool) -> datetime | None:
    if value is None or value.strip().lower() in _CLEAR:
        return None
    try:
        if len(value.strip()) == 10:  # a date: the start of the day, or the end of it
            day = date.fromisoformat(value.strip()) + timedelta(days=1 if end_of_day else 0)
            return datetime.combine(day, time(), tz)
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _fail(f"{field}: {value!r} is not an ISO date or time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _detail(value: str | None) -> dict[str, Any] | None:
    if value is None or value.strip().lower() in _CLEAR:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        raise _fail('--detail: not JSON (give an object, e.g. \'{"search_id": "@ums"}\')') from None
    if not isinstance(parsed, dict):
        raise _fail("--detail: a JSON object is needed")
    return parsed


@senders_app.command("add")
def add(
    actor: Annotated[str, ACTOR],
    value: Annotated[str, typer.Argument(help="The number, profile key, brand id or domain.")],
    label: Annotated[str, typer.Option(help="What it is, e.g. 고객센터.")],
    kind: Annotated[str, _KIND] = "number",
    department: Annotated[str | None, typer.Option(help="The owning department.")] = None,
    proof: Annotated[str | None, typer.Option(help="Reference of the proof document.")] = None,
    valid_from: Annotated[str | None, typer.Option(help="First day or time of use.")] = None,
    valid_until: Annotated[str | None, typer.Option(help="Last day, or end time.")] = None,
    detail: Annotated[str | None, typer.Option(help="JSON object of other facts.")] = None,
) -> None:
    """Register a sender."""
    from ums_pipelines.compliance.senders import SenderError, register

    with open_store() as (store, settings), acting(store, actor, "senders.register", department):
        tz = settings.tz
        since = _when("--valid-from", valid_from, tz, end_of_day=False)
        until = _when("--valid-until", valid_until, tz, end_of_day=True)
        try:
            with store.session() as session:
                register(
                    session, kind, value, label, actor, department=department,
                    proof_ref=proof, valid_from=since, valid_until=until, detail=_detail(detail),
                )  # fmt: skip
        except SenderError as exc:
            raise _fail(str(exc)) from None
    console.print(f"{escape(kind)} {escape(value)} registered")


@senders_app.command("update")
def update(
    actor: Annotated[str, ACTOR],
    value: Annotated[str, typer.Argument(help="The registered sender.")],
    kind: Annotated[str, _KIND] = "number",
    label: Annotated[str | None, typer.Option(help="New label.")] = None,
    department: Annotated[str | None, typer.Option(help="New owner ('none' clears).")] = None,
    proof: Annotated[str | None, typer.Option(help="New proof reference ('none' clears).")] = None,
    valid_from: Annotated[str | None, typer.Option(help="New start ('none' clears).")] = None,
    valid_until: Annotated[str | None, typer.Option(help="New end ('none' clears).")] = None,
    detail: Annotated[str | None, typer.Option(help="New JSON detail ('none' clears).")] = None,
    activate: Annotated[bool, typer.Option("--activate", help="Make it active again.")] = False,
) -> None:
    """Change a sender's fields; those not given stay as they are."""
    from ums_pipelines.compliance import senders
    from ums_pipelines.compliance.access import sender_department

    owner = sender_department(kind, value)
    with open_store() as (store, settings), acting(store, actor, "senders.update", owner):
        changes: dict[str, Any] = {}
        if label is not None:
            changes["label"] = label
        for name, given in (("department", department), ("proof_ref", proof)):
            if given is not None:
                changes[name] = None if given.strip().lower() in _CLEAR else given
        if valid_from is not None:
            changes["valid_from"] = _when("--valid-from", valid_from, settings.tz, False)
        if valid_until is not None:
            changes["valid_until"] = _when("--valid-until", valid_until, settings.tz, True)
        if detail is not None:
            changes["detail"] = _detail(detail)
        if activate:
            changes["active"] = True
        if not changes:
            raise _fail("nothing to change: give at least one option")
        try:
            with store.session() as session:
                senders.update(session, kind, value, actor, **changes)
        except senders.SenderError as exc:
            raise _fail(str(exc)) from None
    console.print(f"{escape(kind)} {escape(value)} updated: {', '.join(changes)}")


@senders_app.command("deactivate")
def deactivate(
    actor: Annotated[str, ACTOR],
    value: Annotated[str, typer.Argument(help="The registered sender.")],
    kind: Annotated[str, _KIND] = "number",
) -> None:
    """Stop a sender being used; it stays on record."""
    from ums_pipelines.compliance import senders
    from ums_pipelines.compliance.access import sender_department

    owner = sender_department(kind, value)
    with open_store() as (store, _), acting(store, actor, "senders.deactivate", owner):
        try:
            with store.session() as session:
                senders.deactivate(session, kind, value, actor)
        except senders.SenderError as exc:
            raise _fail(str(exc)) from None
    console.print(f"{escape(kind)} {escape(value)} deactivated")


@senders_app.command("list")
def list_(
    actor: Annotated[str, ACTOR],
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    department: Annotated[str | None, typer.Option(help="Only this department's.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Include inactive ones.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """Registered senders, with their status now."""
    from ums_pipelines.compliance.senders import SenderError, entries
    from ums_pipelines.store.engine import utcnow

    with (
        open_store() as (store, settings),
        acting(store, actor, "senders.list", department),
        store.reading() as session,
    ):
        try:
            found = entries(session, kind, department, include_inactive=show_all)
        except SenderError as exc:
            raise _fail(str(exc)) from None
    now, tz = utcnow(), settings.tz
    rows = [
        {**vars(e), "status": e.status(now)}
        | {k: getattr(e, k).astimezone(tz).isoformat() if getattr(e, k) else None
           for k in ("valid_from", "valid_until", "registered_at", "updated_at")}
        for e in found
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(*("kind", "value", "label", "department", "proof", "valid", "status"))
    for r in rows:
        valid = f"{(r['valid_from'] or '')[:10]} ~ {(r['valid_until'] or '')[:10]}"
        cells = (r["kind"], r["value"], r["label"], r["department"], r["proof_ref"])
        table.add_row(*(escape(str(c or "")) for c in cells), valid, r["status"])
    table.title = f"{len(rows)} senders"
    console.print(table)


@senders_app.command("export")
def export(
    actor: Annotated[str, ACTOR],
    out: Annotated[Path, typer.Option("--out", help="The file: .csv (for Excel) or .json.")],
) -> None:
    """Write the whole registry, inactive entries too, for the departments that keep it."""
    from ums_pipelines.compliance.senders import SenderError
    from ums_pipelines.compliance.senders_export import export_registry

    with (
        open_store() as (store, settings),
        acting(store, actor, "senders.export"),  # the whole registry: '*'
        store.reading() as session,
    ):
        try:
            count = export_registry(session, out, settings.tz)
        except SenderError as exc:
            raise _fail(str(exc)) from None
    console.print(f"{count} entries written to {escape(str(out))}")


@senders_app.command("changes")
def changes(
    actor: Annotated[str, ACTOR],
    after: Annotated[int, typer.Option("--after", help="The last audit id already seen.")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many changes.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
) -> None:
    """The registry's changes after an audit id, oldest first: poll with the last id."""
    from ums_pipelines.compliance.senders import SenderError
    from ums_pipelines.compliance.senders_export import changes_since

    with (
        open_store() as (store, settings),
        acting(store, actor, "senders.changes"),  # every department's changes: '*'
        store.reading() as session,
    ):
        try:
            found = changes_since(session, after, limit)
        except SenderError as exc:
            raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps([c.to_json() for c in found], ensure_ascii=False))
        return
    table = Table("id", "at", "actor", "action", "kind", "value", "changed")
    for c in found:
        before, after_ = c.before or {}, c.after or {}
        changed = [k for k in after_ if before.get(k) != after_[k] and k != "revision"]
        at = c.at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S")
        cells = (str(c.id), at, c.actor, c.action, c.kind, c.value, ", ".join(changed))
        table.add_row(*(escape(x) for x in cells))
    console.print(table)
    last = found[-1].id if found else after
    console.print(f"{len(found)} change(s); next poll: --after {last}")
