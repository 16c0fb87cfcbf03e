"""Picking up customer change files from the inbox and applying them to the store.

Life of a file: a source system writes ``.name.csv.tmp`` and renames it to ``name.csv`` in
``Settings.customer_inbox`` (dot-files are never read). CSV (``*.csv``), JSON Lines
(``*.jsonl``) and fixed-width files (names matched by ``UMS_CHANGE_LAYOUTS``) are taken;
see :mod:`~ums_pipelines.customers.formats`. :func:`sync_inbox` then

1. skips it as a duplicate if a file with the same SHA-256 was applied before;
2. rejects it if it cannot be parsed at all (unreadable, no header or a required column
   missing, no JSON object, no record of the layout's length, an invalid layout): the file moves
   to ``rejected/`` with ``<moved name>.reason.txt`` beside it, and is never deleted;
3. otherwise validates every row outside any transaction, then applies the good rows and
   records the file and its quarantined rows in ONE transaction, so a crash never leaves
   half a file applied and a rerun simply redoes it;
4. moves it to ``processed/``, its name prefixed with a UTC timestamp.

Run one sync at a time (a Dagster sensor with one run per tick does): the database keeps
two concurrent runs from applying a file twice, but they would race for the file moves.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ums_pipelines.customers.apply import apply_rows
from ums_pipelines.customers.changefile import ChangeFileError
from ums_pipelines.customers.formats import is_change_file, read_change_file
from ums_pipelines.customers.report import FileResult, Issue, QuarantinedRecord, SyncReport
from ums_pipelines.customers.source import ChangeSource
from ums_pipelines.customers.validation import ChangeRow, validate_row
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store, utcnow
from ums_pipelines.store.models import CustomerChangeFile, QuarantinedRow

__all__ = ["check_row", "pending_files", "quarantined_rows", "sync_inbox"]

log = logging.getLogger(__name__)

PROCESSED = "processed"
REJECTED = "rejected"


def pending_files(settings: Settings) -> list[Path]:
    """Change files waiting in the inbox, in name order (what a sensor should look at)."""
    inbox = settings.customer_inbox
    if not inbox.is_dir():
        return []
    return sorted(p for p in inbox.iterdir() if is_change_file(p.name, settings) and p.is_file())


def sync_inbox(store: Store, settings: Settings) -> SyncReport:
    """Process every pending change file, oldest name first."""
    report = SyncReport()
    for path in pending_files(settings):
        result = _sync_file(store, settings, path)
        if result is not None:
            log.info(
                "customer file %s: %s, %d rows, %d applied, %d stale, %d quarantined",
                result.file_name,
                result.status,
                result.rows_total,
                result.rows_applied,
                result.rows_stale,
                result.rows_quarantined,
            )
            report.files.append(result)
    return report


def quarantined_rows(store: Store, file_name: str | None = None) -> list[QuarantinedRecord]:
    """Quarantined rows of every file, or of the files delivered under ``file_name``."""
    stmt = select(QuarantinedRow, CustomerChangeFile.file_name).join(
        CustomerChangeFile, QuarantinedRow.file_id == CustomerChangeFile.id
    )
    if file_name is not None:
        stmt = stmt.where(CustomerChangeFile.file_name == file_name)
    stmt = stmt.order_by(QuarantinedRow.file_id, QuarantinedRow.line_no, QuarantinedRow.id)
    with store.session() as session:
        return [
            QuarantinedRecord(
                q.file_id,
                name,
                q.line_no,
                q.field,
                q.reason,
                q.raw,
                id=q.id,
                cells=q.cells,
                replayed_at=q.replayed_at,
                replayed_by=q.replayed_by,
            )
            for q, name in session.execute(stmt)
        ]


@dataclass
class _Validated:
    rows: list[ChangeRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)

    def bad(
        self,
        line_no: int,
        problems: list[tuple[str | None, str]],
        raw: str,
        cells: dict[str, str] | None,
    ) -> None:
        self.issues.extend(Issue(line_no, name, reason) for name, reason in problems)
        names = list(dict.fromkeys(name for name, _ in problems if name))
        self.quarantine.append(
            {
                "line_no": line_no,
                "field": ",".join(names)[:64] or None,
                "reason": "; ".join(reason for _, reason in problems),
                "raw": raw,
                "cells": cells,
            }
        )


def check_row(
    cells: dict[str, str] | None,
    problems: list[tuple[str | None, str]],
    settings: Settings,
    now: datetime,
) -> ChangeRow | list[tuple[str | None, str]]:
    """Validate a parsed row: its ChangeRow, or every problem of the row (parse and fields)."""
    if cells is None:
        return problems
    result = validate_row(cells, tz=settings.tz, now=now)
    if isinstance(result, ChangeRow) and not problems:
        return result
    # A field the parser could not read is absent from the cells: its "required" error
    # from validation would repeat the parser's reason.
    named = {name for name, _ in problems}
    errors = [] if isinstance(result, ChangeRow) else result
    return problems + [(e.field, e.reason) for e in errors if e.field not in named]


def _validate(source: ChangeSource, settings: Settings) -> _Validated:
    out = _Validated()
    now = utcnow()
    for row in source.rows:
        result = check_row(row.cells, row.problems, settings, now)
        if isinstance(result, ChangeRow):
            out.rows.append(result)
        else:
            out.bad(row.line_no, result, row.raw, row.cells)
    return out


def _sync_file(store: Store, settings: Settings, path: Path) -> FileResult | None:
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None  # taken by another run between listing and reading
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
        result = FileResult(name, "rejected", reason=f"cannot read the file: {problem}")
        result.moved_to = _reject(path, settings, result.reason or "")
        return result
    sha = hashlib.sha256(data).hexdigest()
    with store.session() as session:
        previous = _previous(session, sha)
    if previous is not None and previous.status != "rejected":
        return _duplicate(path, settings, sha, previous)

    result = FileResult(name, "applied", sha256=sha)
    try:
        source = read_change_file(name, data, settings)
    except ChangeFileError as exc:
        result.status = "rejected"
        result.reason = str(exc)
        with store.session() as session:
            _record_file(session, result, _previous(session, sha), [])
        result.moved_to = _reject(path, settings, result.reason)
        return result

    result.encoding, result.format = source.encoding, source.format
    result.warnings.extend(source.warnings)
    result.warnings.extend(f"line {i.line}: {i.reason}" for i in source.file_issues)
    validated = _validate(source, settings)
    result.issues = sorted(validated.issues + source.file_issues, key=lambda i: i.line)
    result.rows_total = len(validated.rows) + len(validated.quarantine)
    result.rows_quarantined = len(validated.quarantine)
    result.status = "partial" if validated.quarantine or source.file_issues else "applied"
    if source.file_issues:
        # Kept on the file's record: a trailer count that does not match is not a row.
        result.note = "; ".join(i.reason for i in source.file_issues)
    try:
        with store.session() as session:
            previous = _previous(session, sha)
            if previous is not None and previous.status != "rejected":
                return _duplicate(path, settings, sha, previous)
            applied = apply_rows(session, validated.rows, source=f"file:{name}"[:100], now=utcnow())
            result.rows_applied, result.rows_stale = applied.applied, applied.stale
            _record_file(session, result, previous, validated.quarantine)
    except IntegrityError:
        # Another run recorded the same file first; anything else is a real failure.
        with store.session() as session:
            previous = _previous(session, sha)
        if previous is None or previous.status == "rejected":
            raise
        return _duplicate(path, settings, sha, previous)
    result.moved_to = _move(path, settings.customer_inbox / PROCESSED)
    return result


def _previous(session: Session, sha: str) -> CustomerChangeFile | None:
    stmt = select(CustomerChangeFile).where(CustomerChangeFile.sha256 == sha)
    return session.scalars(stmt).first()


def _record_file(
    session: Session,
    result: FileResult,
    previous: CustomerChangeFile | None,
    quarantine: list[dict[str, Any]],
) -> None:
    # A file rejected before may come back unchanged (e.g. after a fix in this code): its
    # row is reused because sha256 is unique.
    row = previous or CustomerChangeFile(sha256=result.sha256)
    if previous is not None:
        session.execute(delete(QuarantinedRow).where(QuarantinedRow.file_id == previous.id))
    row.file_name = result.file_name
    row.received_at = utcnow()
    row.encoding = result.encoding
    row.status = result.status
    row.rows_total = result.rows_total
    row.rows_applied = result.rows_applied
    row.rows_stale = result.rows_stale
    row.rows_quarantined = result.rows_quarantined
    row.reason = result.reason or result.note
    session.add(row)
    session.flush()
    if quarantine:
        session.execute(insert(QuarantinedRow), [{**q, "file_id": row.id} for q in quarantine])


def _duplicate(
    path: Path, settings: Settings, sha: str, previous: CustomerChangeFile
) -> FileResult:
    result = FileResult(path.name, "duplicate", sha256=sha, encoding=previous.encoding)
    seen = previous.received_at.strftime("%Y-%m-%d %H:%M:%S")
    result.warnings.append(f"same content as {previous.file_name} received {seen} UTC")
    result.moved_to = _move(path, settings.customer_inbox / PROCESSED)
    return result


def _target(path: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    target = directory / f"{stamp}_{path.name}"
    n = 1
    while target.exists():
        target = directory / f"{stamp}-{n}_{path.name}"
        n += 1
    return target


def _move(path: Path, directory: Path) -> Path | None:
    target = _target(path, directory)
    try:
        path.replace(target)
    except FileNotFoundError:
        # Another sync moved it first; its record in the store is what counts.
        log.warning("customer file %s was moved away during the sync", path.name)
        return None
    return target


def _reject(path: Path, settings: Settings, reason: str) -> Path | None:
    target = _target(path, settings.customer_inbox / REJECTED)
    note = target.with_name(f"{target.name}.reason.txt")
    temp = target.with_name(f".{note.name}.tmp")
    # The reason is written first: a crash before the move leaves the file in the inbox
    # to be rejected again, never a rejected file without its reason.
    temp.write_text(reason + "\n", encoding="utf-8")
    temp.replace(note)
    try:
        path.replace(target)
    except OSError as exc:
        log.error("cannot move rejected customer file %s: %s", path.name, exc.strerror)
        return None
    return target
