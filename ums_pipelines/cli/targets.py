"""``ums targets segment|upload|show``: a bulk job's targets from a segment query over the
customer profile or from an uploaded target file, frozen once with the counts per
suppression reason (docs/targets.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from ums_pipelines.cli.common import ACTOR, acting, open_store

if TYPE_CHECKING:
    from ums_pipelines.settings import Settings
    from ums_pipelines.store import Store
    from ums_pipelines.targets import TargetResult

__all__ = ["targets_app"]

targets_app = typer.Typer(
    help="A job's targets from a segment query or a target file.", no_args_is_help=True
)
_JOB = typer.Argument(help="The registered job whose targets to freeze.")
_DRY = typer.Option("--dry-run", help="Count targets per suppression reason; freeze nothing.")
_PROBLEMS_SHOWN = 50


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(soft_wrap=True).print(f"[red]{escape(message)}[/red]")
    return typer.Exit(code)


def _params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise _fail(f"--param: {pair!r} must be NAME=VALUE")
        params[name.strip().lstrip("$")] = value
    return params


def _not_frozen(store: Store, job_id: str) -> None:
    from ums_pipelines.store.models import Job

    with store.reading() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise _fail(f"job_id: no job {job_id!r}")
        if job.target_count is not None:
            raise _fail(
                f"job {job_id}: targets already frozen ({job.target_count} targets);"
                " a frozen list never changes"
            )


def _freeze(
    store: Store,
    settings: Settings,
    job_id: str,
    ids: Any,
    source: dict[str, Any],
    actor: str,
    dry_run: bool,
) -> None:
    from ums_pipelines.targets import extract_targets

    try:
        result = extract_targets(
            store, settings, job_id, candidates=ids, source=source, actor=actor, dry_run=dry_run
        )
    except (KeyError, ValueError) as exc:
        raise _fail(str(exc).strip("'\"")) from exc
    _print_counts(result, dry_run)


def _print_counts(result: TargetResult, dry_run: bool) -> None:
    console = Console(soft_wrap=True)
    table = Table(title=f"Targets of {result.job_id}", title_justify="left")
    table.add_column("count", justify="left")
    table.add_column("customers", justify="right")
    table.add_row("targets", f"{result.targets:,}")
    for reason, n in sorted(result.suppressed.items()):
        table.add_row(f"suppressed: {reason}", f"{n:,}")
    console.print(table)
    if dry_run:
        console.print("dry run: nothing frozen")
    else:
        console.print(f"frozen: {result.targets:,} targets of job {result.job_id}")


@targets_app.command("segment")
def targets_segment(
    job_id: Annotated[str, _JOB],
    sql_file: Annotated[
        Path, typer.Option("--sql-file", help="The segment: one SELECT returning customer_id.")
    ],
    param: Annotated[
        list[str] | None, typer.Option("--param", help="A $NAME value as NAME=VALUE; repeat.")
    ] = None,
    dry_run: Annotated[bool, _DRY] = False,
    actor: Annotated[str, ACTOR] = "",
) -> None:
    """Freeze a job's targets from a segment query over the customer profile."""
    from ums_pipelines.compliance.access import job_department
    from ums_pipelines.segments import SegmentError, run_segment

    params = _params(param or [])
    try:
        sql = sql_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"--sql-file: cannot read {sql_file.name}: {exc}") from exc
    with (
        open_store() as (store, settings),
        acting(store, actor, "targets.segment", job_department(job_id)),
    ):
        _not_frozen(store, job_id)
        try:
            segment = run_segment(store, settings, sql, params)
        except SegmentError as exc:
            raise _fail(str(exc)) from exc
        source = segment.source() | {"sql_file": sql_file.name}
        _freeze(store, settings, job_id, segment.ids, source, actor, dry_run)


@targets_app.command("upload")
def targets_upload(
    job_id: Annotated[str, _JOB],
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8 or CP949) or XLSX with customer_id.")],
    dry_run: Annotated[bool, _DRY] = False,
    actor: Annotated[str, ACTOR] = "",
) -> None:
    """Freeze a job's targets from an uploaded target file; bad rows are listed and left out."""
    from ums_pipelines.compliance.access import job_department
    from ums_pipelines.segments import UploadError, read_target_file

    console = Console(soft_wrap=True)
    with (
        open_store() as (store, settings),
        acting(store, actor, "targets.upload", job_department(job_id)),
    ):
        _not_frozen(store, job_id)
        try:
            uploaded = read_target_file(store, file)
        except UploadError as exc:
            raise _fail(str(exc)) from exc
        console.print(
            f"{uploaded.name}: {uploaded.rows:,} rows, {len(uploaded.ids):,} accepted,"
            f" {len(uploaded.problems):,} rejected"
        )
        for problem in uploaded.problems[:_PROBLEMS_SHOWN]:
            console.print(f"  line {problem.line}: {problem.reason}: {escape(problem.detail)}")
        if len(uploaded.problems) > _PROBLEMS_SHOWN:
            console.print(f"  ... and {len(uploaded.problems) - _PROBLEMS_SHOWN:,} more")
        if not uploaded.ids:
            raise _fail(f"file: {uploaded.name} has no valid customer_id row; nothing frozen")
        _freeze(store, settings, job_id, uploaded.ids, uploaded.source(), actor, dry_run)


@targets_app.command("show")
def targets_show(
    job_id: Annotated[str, typer.Argument(help="The job.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    actor: Annotated[str, ACTOR] = "",
) -> None:
    """A job's frozen targets: the count, the counts per suppression reason and the source."""
    from ums_pipelines.compliance.access import job_department
    from ums_pipelines.store.models import AuditLog, Job

    with (
        open_store() as (store, _),
        acting(store, actor, "targets.show", job_department(job_id)),
        store.reading() as session,
    ):
        job = session.get(Job, job_id)
        if job is None:
            raise _fail(f"job_id: no job {job_id!r}")
        if job.target_count is None:
            raise _fail(f"job {job_id}: targets not frozen yet", code=1)
        detail = session.scalars(
            select(AuditLog.detail)
            .where(AuditLog.action == "job.targets_frozen", AuditLog.entity_id == job_id)
            .order_by(AuditLog.id.desc())
            .limit(1)
        ).first()
        suppressed: dict[str, int] = dict(job.suppressed or {})
        shown: dict[str, Any] = {
            "job_id": job_id,
            "targets": job.target_count,
            "suppressed": suppressed,
            "source": (detail or {}).get("source"),
        }
    if as_json:
        typer.echo(json.dumps(shown, ensure_ascii=False))
        return
    console = Console(soft_wrap=True)
    console.print(f"job {job_id}: {shown['targets']:,} targets")
    for reason, n in sorted(suppressed.items()):
        console.print(f"  suppressed {reason}: {n:,}")
    source = shown["source"]
    if source:
        console.print(f"  source: {escape(json.dumps(source, ensure_ascii=False))}")
