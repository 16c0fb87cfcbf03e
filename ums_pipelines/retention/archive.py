"""The archive: compressed Parquet under UMS_HOME/archive/<class>/<day>.parquet.

Written before the store is changed, so a crash between the two leaves the data in both
places (a rerun merges by id) rather than in neither.
"""

from __future__ import annotations

import os
import uuid
from datetime import date
from pathlib import Path

import polars as pl

from ums_pipelines.settings import Settings

__all__ = ["archive_path", "archive_rows", "rewrite_atomically"]


def archive_path(settings: Settings, data_class: str, day: date) -> Path:
    return settings.archive_dir / data_class / f"{day.isoformat()}.parquet"


def archive_rows(settings: Settings, data_class: str, frame: pl.DataFrame, day_column: str) -> int:
    """Append ``frame``'s rows to their Korea-time days' files; return the rows written."""
    if frame.is_empty():
        return 0
    days = frame.with_columns(
        pl.col(day_column).dt.convert_time_zone(settings.timezone).dt.date().alias("_day")
    )
    for (day,), part in days.partition_by("_day", as_dict=True).items():
        path = archive_path(settings, data_class, day)
        rows = part.drop("_day")
        if path.exists():
            rows = pl.concat([pl.read_parquet(path), rows], how="vertical_relaxed")
            rows = rows.unique(subset=["id"], keep="first").sort("id")
        rewrite_atomically(rows, path)
    return frame.height


def rewrite_atomically(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A dot name is outside every reader's glob while it is being written.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.write_parquet(tmp, compression="zstd", statistics=True)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
