"""Reading rows to archive and deleting them in bounded batches (shared by the purges)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ums_pipelines.store import as_utc

__all__ = ["CHUNK", "attrs", "chunks", "frame_of"]

CHUNK = 500  # ids per IN list: within every driver's parameter limit


def chunks(ids: Iterable[Any]) -> Iterator[list[Any]]:
    items = list(ids)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def attrs(model: Any, names: Sequence[str]) -> list[InstrumentedAttribute[Any]]:
    return [getattr(model, name) for name in names]


def frame_of(
    session: Session,
    columns: Sequence[InstrumentedAttribute[Any]],
    ids: Sequence[Any],
    names: Sequence[str] | None = None,
    join: tuple[Any, Any] | None = None,
) -> pl.DataFrame:
    """The ``columns`` of the rows whose first column is in ``ids``, sorted by it; times
    as aware UTC. ``names`` renames the columns, ``join`` is (table, on clause)."""
    names = list(names or [c.key for c in columns])
    rows: list[tuple[Any, ...]] = []
    for part in chunks(ids):
        stmt = select(*columns)
        if join is not None:
            stmt = stmt.join(*join)
        rows += [tuple(r) for r in session.execute(stmt.where(columns[0].in_(part)))]
    rows = [tuple(as_utc(v) if isinstance(v, datetime) else v for v in r) for r in rows]
    frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    return frame.sort(names[0]) if rows else frame
