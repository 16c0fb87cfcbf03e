"""Applying a source database table of customer changes to the store, page by page.

Each page (``UMS_CUSTOMER_SOURCE_PAGE_SIZE`` rows in ``(cursor, key)`` order) is validated
row by row with the change-file rules, outside any transaction; then ONE store transaction
moves the stored position, applies the good rows with
:func:`~ums_pipelines.customers.apply.apply_rows` (an older change never overwrites a
newer one) and records the page like a change file (``customer_change_files`` row named
``db:<table>``, its bad rows in ``quarantined_rows`` with the reason). A crash before the
commit redoes the page; after it, the page is never read again. The position moves by
compare-and-set, so two concurrent runs cannot both apply a page: the later one stops
with :class:`SourceMoved` and nothing of it is kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ums_pipelines.customers.apply import apply_rows
from ums_pipelines.customers.dbsource import (
    Position,
    SourceError,
    SourceTable,
    open_source,
    source_config,
    to_cells,
    watermark_name,
)
from ums_pipelines.customers.report import Issue
from ums_pipelines.customers.sync import check_row
from ums_pipelines.customers.validation import ChangeRow
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store, utcnow
from ums_pipelines.store.models import CustomerChangeFile, QuarantinedRow, Watermark

__all__ = [
    "DbSyncResult",
    "SourceError",
    "SourceMoved",
    "Waiting",
    "source_waiting",
    "sync_source",
]

log = logging.getLogger(__name__)


class SourceMoved(RuntimeError):
    """Another run moved the source's position while this one applied a page."""


@dataclass
class DbSyncResult:
    table: str
    pages: int = 0
    rows_read: int = 0
    rows_applied: int = 0
    rows_stale: int = 0
    rows_quarantined: int = 0
    cursor: str | None = None  # the cursor value of the position after the run
    issues: list[Issue] = field(default_factory=list)  # masked; line = row number in the run


def _stored(store: Store, name: str) -> str | None:
    with store.reading() as session:
        mark = session.get(Watermark, name)
        return mark.value if mark is not None else None


@dataclass(frozen=True)
class Waiting:
    """Rows wait past ``after`` (the stored position, None before the first run) up to
    cursor value ``cursor``."""

    cursor: str
    after: str | None


def source_waiting(store: Store, settings: Settings) -> Waiting | None:
    """What waits past the stored position (for a sensor), or None.

    One ``SELECT max(cursor) ... WHERE (cursor, key) > position``: cheap with an index on
    the cursor. None also when no source is configured.
    """
    config = source_config(settings)
    if config is None:
        return None
    stored = _stored(store, watermark_name(config.table))
    position = Position.loads(stored) if stored else None
    with open_source(config) as source, source.engine.connect() as conn:
        top = conn.execute(source.waiting_query(position)).scalar()
    return None if top is None else Waiting(Position(top, None).describe(), stored)


def sync_source(store: Store, settings: Settings, *, page_size: int | None = None) -> DbSyncResult:
    """Read and apply every row past the stored position; SourceError if misconfigured."""
    config = source_config(settings)
    if config is None:
        raise SourceError("UMS_CUSTOMER_SOURCE_URL and UMS_CUSTOMER_SOURCE_TABLE: not set")
    name = watermark_name(config.table)
    size = page_size or settings.customer_source_page_size
    result = DbSyncResult(config.table)
    stored = _stored(store, name)
    position = Position.loads(stored) if stored else None
    result.cursor = position.describe() if position else None
    with open_source(config) as source:
        while True:
            with source.engine.connect() as conn:
                rows = [dict(r._mapping) for r in conn.execute(source.page_query(position, size))]
            if not rows:
                break
            last = source.position_of(rows[-1])
            _apply_page(store, settings, source, rows, result, name, stored, last.dumps())
            stored, position = last.dumps(), last
            result.pages += 1
            result.cursor = last.describe()
            if len(rows) < size:
                break
    log.info(
        "customer source %s: %d pages, %d rows, %d applied, %d stale, %d quarantined, cursor %s",
        config.table,
        result.pages,
        result.rows_read,
        result.rows_applied,
        result.rows_stale,
        result.rows_quarantined,
        result.cursor,
    )
    return result


def _apply_page(
    store: Store,
    settings: Settings,
    source: SourceTable,
    rows: list[dict[str, Any]],
    result: DbSyncResult,
    name: str,
    old: str | None,
    new: str,
) -> None:
    now = utcnow()
    good: list[ChangeRow] = []
    quarantine: list[dict[str, Any]] = []
    issues: list[Issue] = []
    for offset, row in enumerate(rows, start=1):
        line = result.rows_read + offset
        cells = to_cells(row, source.mapping)
        checked = check_row(cells, [], settings, now)
        if isinstance(checked, ChangeRow):
            good.append(checked)
            continue
        issues.extend(Issue(line, f, reason) for f, reason in checked)
        names = list(dict.fromkeys(f for f, _ in checked if f))
        quarantine.append(
            {
                "line_no": line,
                "field": ",".join(names)[:64] or None,
                "reason": "; ".join(reason for _, reason in checked),
                # The source row itself, personal data included, as a file's raw line is.
                "raw": json.dumps(row, default=str, ensure_ascii=False),
                "cells": cells,
            }
        )
    table = source.config.table
    try:
        with store.session() as session:
            _advance(session, name, old, new, now)
            applied = apply_rows(session, good, source=f"db:{table}"[:100], now=now)
            page = CustomerChangeFile(
                file_name=f"db:{table}"[:255],
                # Unique per page: the position it moved from and to, and when.
                sha256=hashlib.sha256(f"{name}|{old}|{new}|{now.isoformat()}".encode()).hexdigest(),
                received_at=now,
                encoding=None,
                status="partial" if quarantine else "applied",
                rows_total=len(rows),
                rows_applied=applied.applied,
                rows_stale=applied.stale,
                rows_quarantined=len(quarantine),
                reason=None,
            )
            session.add(page)
            session.flush()
            if quarantine:
                session.execute(
                    insert(QuarantinedRow), [{**q, "file_id": page.id} for q in quarantine]
                )
    except IntegrityError:
        # The first position of this source was written by another run meanwhile.
        raise SourceMoved(f"customer source {table}: another run moved its position") from None
    result.rows_read += len(rows)
    result.rows_applied += applied.applied
    result.rows_stale += applied.stale
    result.rows_quarantined += len(quarantine)
    result.issues.extend(issues)


def _advance(session: Session, name: str, old: str | None, new: str, now: datetime) -> None:
    """Move the position from ``old`` to ``new``, or raise SourceMoved if it is not at ``old``.

    Done first in the transaction: on PostgreSQL the row lock makes a concurrent run wait
    for our commit and then find the position moved.
    """
    if old is None:
        session.add(Watermark(name=name, value=new, updated_at=now))
        session.flush()
        return
    moved = session.execute(
        update(Watermark)
        .where(Watermark.name == name, Watermark.value == old)
        .values(value=new, updated_at=now)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise SourceMoved(f"customer source position {name} moved by another run")
