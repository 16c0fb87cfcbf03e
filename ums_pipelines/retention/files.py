"""Retention outside the store's tables: customer change files on disk, a purged job's
target list and partition key, and the analytics copy of clicks (see classes.py, purge.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.retention.archive import rewrite_atomically
from ums_pipelines.retention.hold import Held
from ums_pipelines.retention.rows import chunks
from ums_pipelines.settings import Settings
from ums_pipelines.store.models import Job, Message
from ums_pipelines.targets import targets_path

__all__ = [
    "change_files_due",
    "keys_of",
    "remove_target_files",
    "stale_jobs",
    "unlink_clicks",
]

_CHANGE_DIRS = ("processed", "rejected")
# Statuses of a job still to be sent: new_jobs_sensor (re)adds their partition keys.
_WAITING = ("registered", "targeted", "approved")


def change_files_due(settings: Settings, cut: datetime, hold: Held) -> list[Path]:
    """Processed and rejected change files last written before ``cut`` (a move keeps the
    time the source system wrote it), unless one names a held customer."""
    due: list[Path] = []
    for name in _CHANGE_DIRS:
        folder = settings.customer_inbox / name
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) >= cut:
                continue
            data = path.read_bytes()
            if not any(c.encode() in data for c in hold.customers):
                due.append(path)
    return due


def remove_target_files(settings: Settings, jobs: tuple[str, ...]) -> int:
    """The frozen target lists (customer ids per job) of jobs whose messages are all gone."""
    removed = 0
    for job_id in jobs:
        path = targets_path(settings, job_id)
        if path.exists():
            path.unlink()
            removed += 1
    return removed


def keys_of(session: Session, message_ids: list[int]) -> set[str]:
    keys: set[str] = set()
    for part in chunks(message_ids):
        keys.update(session.scalars(select(Message.idempotency_key).where(Message.id.in_(part))))
    return keys


def unlink_clicks(settings: Settings, keys: set[str]) -> int:
    """Clicks in the analytics copy name their message by its key, a hash of the job and
    the customer: once the message rows are deleted (and their copy loses the key), the
    clicks lose it too, so nothing joins them back to a customer. The clicks still count.
    Returns the day files rewritten."""
    folder = settings.parquet_dir / "link_clicks"
    if not keys or not folder.is_dir():
        return 0
    rewritten = 0
    for path in sorted(folder.glob("day=*/data.parquet")):
        data = pl.read_parquet(path)
        if "message_key" not in data.columns:
            continue
        gone = pl.col("message_key").is_in(sorted(keys))
        if not data.select(gone.any()).item():
            continue
        data = data.with_columns(
            pl.when(gone).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("message_key", "code")
            if c in data.columns
        )
        rewrite_atomically(data, path)
        rewritten += 1
    return rewritten


def stale_jobs(session: Session, job_ids: list[str], cut: datetime) -> list[str]:
    """Of ``job_ids`` (a dynamic partition's keys), the jobs created before ``cut`` (the
    message rows' cutoff) that have no message left: their data is gone, whether this
    purge or an earlier one that stopped before removing the key took it. A young job
    without messages, or one still waiting to be sent, keeps its key."""
    stale: list[str] = []
    for part in chunks(job_ids):
        old = select(Job.job_id).where(
            Job.job_id.in_(part), Job.created_at < cut, Job.status.not_in(_WAITING)
        )
        candidates = set(session.scalars(old))
        if not candidates:
            continue
        used = select(Message.job_id).where(Message.job_id.in_(candidates)).distinct()
        stale += sorted(candidates - set(session.scalars(used)))
    return stale
