"""``ums audit verify|show``: prove the audit log is intact, and read it without personal data."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import func, select

from ums_pipelines.cli.common import ACTOR, authorized
from ums_pipelines.masking import mask_name, mask_text
from ums_pipelines.settings import get_settings
from ums_pipelines.store import Store, as_utc

__all__ = ["audit_app"]

console = Console()
err = Console(stderr=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)

# Detail keys whose values are names: mask_text finds numbers and addresses, not names.
_NAME_KEYS = frozenset({"name", "customer_name", "이름", "성명"})


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    ident, _, digest = value.partition(":")
    if not ident.isdigit() or len(digest) != 64:
        raise typer.BadParameter(
            "expected ID:HASH as printed by an earlier verify", param_hint="--anchor"
        )
    return int(ident), digest.lower()


@audit_app.command("verify")
def verify(
    actor: Annotated[str, ACTOR],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    anchor: Annotated[
        str | None,
        typer.Option(
            help="ID:HASH of a head printed earlier and kept outside the database: "
            "that row must still be there, unchanged."
        ),
    ] = None,
) -> None:
    """Check every row's hash and link, and that the log ends at its head checkpoint.

    Exit 0 when intact; 1 naming the first bad row.
    """
    from ums_pipelines.audit import verify_log
    from ums_pipelines.store.models import AuditLog

    kept = _anchor(anchor)
    settings = get_settings()
    store = Store(settings.store_url)
    progress = Progress(
        TextColumn("verifying audit log"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
        disable=as_json or not err.is_terminal,
    )
    try:
        authorized(store, actor, "audit.verify")
        # A reading session: a WAL snapshot on SQLite that does not hold up writers.
        with store.reading() as session, progress:
            total = session.scalar(select(func.count()).select_from(AuditLog)) or 0
            task = progress.add_task("verify", total=total)
            result = verify_log(
                session, anchor=kept, progress=lambda n: progress.update(task, completed=n)
            )
    finally:
        store.dispose()
    head = f"{result.head[0]}:{result.head[1]}" if result.head else None
    bad = result.problem
    if as_json:
        body: dict[str, Any] = {"ok": result.ok, "verified": result.verified, "head": head}
        if bad:
            body["first_bad_row"] = {
                "id": bad.row_id,
                "kind": bad.kind,
                "reason": bad.reason,
                "action": bad.action,
                "entity": bad.entity,
            }
        typer.echo(json.dumps(body, ensure_ascii=False))
    elif bad:
        what = f" ({bad.action} on {bad.entity})" if bad.action else ""
        console.print(f"[red]audit log broken at row {bad.row_id}{what}[/red]: {bad.reason}")
        console.print(f"rows verified before it: {result.verified}")
    else:
        console.print(f"[green]audit log intact[/green]: {result.verified} rows verified")
        if head:
            console.print(f"head {head} (keep it elsewhere; pass it as --anchor later)")
    if bad:
        raise typer.Exit(1)


def _masked(detail: dict[str, Any]) -> str:
    shown = {
        key: mask_name(str(value)) if key in _NAME_KEYS and value else _mask_value(value)
        for key, value in detail.items()
    }
    return json.dumps(shown, ensure_ascii=False, sort_keys=True)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(v) for v in value]
    return value


def _since(value: str | None, tz: Any) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date or time (2026-11-26 or 2026-11-26T09:00)",
            param_hint="--since",
        ) from None
    # A bare date or time is in the business zone, as every time an operator types.
    return at.replace(tzinfo=tz) if at.tzinfo is None else at


@audit_app.command("show")
def show(
    actor: Annotated[str, ACTOR],
    entity: Annotated[str | None, typer.Option(help="Only this kind of entity (job, ...).")] = None,
    entity_id: Annotated[str | None, typer.Option(help="Only this entity id.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Only entries by this actor.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only entries at or after this ISO date/time.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
) -> None:
    """The newest entries first, details masked."""
    from ums_pipelines.store.models import AuditLog

    settings = get_settings()
    start = _since(since, settings.tz)
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    for column, wanted in (
        (AuditLog.entity, entity),
        (AuditLog.entity_id, entity_id),
        (AuditLog.actor, by),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    if start is not None:
        query = query.where(AuditLog.at >= as_utc(start))
    store = Store(settings.store_url)
    try:
        authorized(store, actor, "audit.show")
        with store.reading() as session:
            rows = session.scalars(query).all()
    finally:
        store.dispose()
    table = Table("id", "at", "actor", "action", "entity", "entity id")
    table.add_column("detail", overflow="fold")
    for row in rows:
        table.add_row(
            str(row.id),
            as_utc(row.at).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S"),
            row.actor,
            row.action,
            row.entity,
            mask_text(row.entity_id),
            _masked(row.detail or {}),
        )
    # Made here, not at import: the width is read from COLUMNS when the command runs.
    out = Console()
    out.print(table)
    out.print(f"{len(rows)} entries")
