"""Export the outbox, its delivery events, link clicks and MO replies to Parquet, one file
per Korea-time day.

The export is incremental: a watermark per table remembers the newest change time it has
exported, and the next run looks only at rows changed since then (minus an overlap, for
transactions that committed after a newer one). The days those rows belong to are
rewritten whole from the store, so a day file is always a consistent snapshot and a run
that repeats is harmless. Before rewriting, the changed rows are looked up in the existing
file: a day whose file already holds every one of them at the same change time is left
alone, which is what makes a run with nothing new write nothing.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.analytics.schema import SOURCES, Column, SourceTable
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store, utcnow
from ums_pipelines.store.models import Watermark

__all__ = [
    "DEFAULT_OVERLAP",
    "WATERMARK_PREFIX",
    "ExportResult",
    "TableExport",
    "day_path",
    "export_to_parquet",
]

log = logging.getLogger(__name__)

WATERMARK_PREFIX = "parquet_export:"
# Wider than any send or receipt transaction: a row whose change time is older than the
# watermark by less than this is still found, at the cost of re-reading its key.
DEFAULT_OVERLAP = timedelta(minutes=5)
# Rows per fetch: bounds the Python objects alive at once; Polars holds the rest compactly.
_FETCH_ROWS = 50_000


@dataclass(frozen=True)
class TableExport:
    """What one table's export wrote: rows in the rewritten day files, and those days."""

    rows: int = 0
    days: tuple[date, ...] = ()


@dataclass(frozen=True)
class ExportResult:
    messages: TableExport
    delivery_events: TableExport
    # The other exported tables (clicks, MO replies), by name.
    others: dict[str, TableExport] = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, TableExport]:
        return {"messages": self.messages, "delivery_events": self.delivery_events, **self.others}

    @property
    def wrote_anything(self) -> bool:
        return any(done.days for done in self.tables.values())

    def summary(self) -> dict[str, int | list[str]]:
        """Flat numbers for run metadata: rows and ISO days written per table."""
        out: dict[str, int | list[str]] = {}
        for name, done in self.tables.items():
            out[f"{name}_rows"] = done.rows
            out[f"{name}_days"] = [d.isoformat() for d in done.days]
        return out


def day_path(parquet_dir: Path, table: str, day: date) -> Path:
    """The one file that holds ``table``'s rows of Korea-time ``day``."""
    return parquet_dir / table / f"day={day.isoformat()}" / "data.parquet"


def export_to_parquet(
    store: Store, settings: Settings, *, overlap: timedelta = DEFAULT_OVERLAP
) -> ExportResult:
    """Bring the Parquet copy of messages, delivery events, clicks and MO replies up to
    date with the store."""
    done = {table.name: _export_table(store, settings, table, overlap) for table in SOURCES}
    messages, events = done.pop("messages"), done.pop("delivery_events")
    return ExportResult(messages=messages, delivery_events=events, others=done)


def _export_table(
    store: Store, settings: Settings, table: SourceTable, overlap: timedelta
) -> TableExport:
    watermark = WATERMARK_PREFIX + table.name
    # dict.fromkeys: a table whose change time is its day time (clicks) names it once.
    key_names = dict.fromkeys(("id", table.change_column, table.day_column))
    key_columns = [table.column(n) for n in key_names]
    with store.session() as session:
        high = _read_watermark(session, watermark)
        changed_since = None if high is None else high - overlap
        changed = _fetch(session, key_columns, _changed_filter(table, changed_since), table)
    if changed.is_empty():
        return TableExport()

    changed = changed.with_columns(
        pl.col(table.day_column).dt.convert_time_zone(settings.timezone).dt.date().alias("_day")
    )
    rows = 0
    days: list[date] = []
    for (day,), keys in sorted(changed.partition_by("_day", as_dict=True).items()):
        path = day_path(settings.parquet_dir, table.name, day)
        if _holds_all(path, keys.select("id", table.change_column)):
            continue
        with store.session() as session:
            frame = _fetch(session, list(table.columns), _day_filter(table, day, settings), table)
        _write_atomically(frame, path)
        rows += frame.height
        days.append(day)
        log.info("exported %s day %s: %d rows", table.name, day, frame.height)

    # Advanced only after the files are in place: a crash before this line repeats the
    # work next time instead of losing it.
    newest: datetime = changed.get_column(table.change_column).max()  # type: ignore[assignment]
    if high is None or newest > high:
        with store.session() as session:
            _write_watermark(session, watermark, newest)
    return TableExport(rows=rows, days=tuple(days))


def _changed_filter(table: SourceTable, since: datetime | None) -> list[Any]:
    if since is None:
        return []
    return [table.column(table.change_column).attr >= since.astimezone(UTC)]


def _day_filter(table: SourceTable, day: date, settings: Settings) -> list[Any]:
    # Bounds in UTC: SQLite compares the stored UTC text, PostgreSQL compares instants.
    start = datetime.combine(day, time.min, tzinfo=settings.tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=settings.tz).astimezone(UTC)
    attr = table.column(table.day_column).attr
    return [attr >= start, attr < end]


def _fetch(
    session: Session, columns: Sequence[Column], where: list[Any], table: SourceTable
) -> pl.DataFrame:
    schema = {c.name: c.dtype for c in columns}
    stmt = select(*(c.attr for c in columns)).where(*where).order_by(columns[0].attr)
    if table.from_clause is not None:
        stmt = stmt.select_from(table.from_clause)
    result = session.execute(stmt.execution_options(yield_per=_FETCH_ROWS))
    # Naive datetimes (SQLite) are read as UTC, aware ones (PostgreSQL) converted to UTC.
    chunks = [
        pl.DataFrame([tuple(r) for r in part], schema=schema, orient="row")
        for part in result.partitions()
    ]
    return pl.concat(chunks) if chunks else pl.DataFrame(schema=schema)


def _holds_all(path: Path, keys: pl.DataFrame) -> bool:
    """Whether the day file already has every one of ``keys`` (id, change time)."""
    if not path.exists():
        return False
    try:
        existing = pl.read_parquet(path, columns=keys.columns)
    except (OSError, pl.exceptions.PolarsError):
        log.warning("unreadable %s: rewriting it", path)
        return False
    return keys.join(existing, on=keys.columns, how="anti").is_empty()


def _write_atomically(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A dot name is outside the readers' "*/data.parquet" glob while it is being written.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.write_parquet(tmp, compression="zstd", statistics=True)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_watermark(session: Session, name: str) -> datetime | None:
    row = session.get(Watermark, name)
    if row is None:
        return None
    return datetime.fromisoformat(row.value).astimezone(UTC)


def _write_watermark(session: Session, name: str, value: datetime) -> None:
    row = session.get(Watermark, name)
    text = value.astimezone(UTC).isoformat()
    if row is None:
        session.add(Watermark(name=name, value=text, updated_at=utcnow()))
    else:
        row.value = text
        row.updated_at = utcnow()
