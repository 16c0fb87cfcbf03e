"""Retention outside the store's tables: customer change files on disk, a purged job's
target list and partition key, and the analytics copy of clicks (see classes.py, purge.py)."""

from __future__ import annotations

import secrets
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
    "aliases_of",
    "change_files_due",
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


def aliases_of(session: Session, message_ids: list[int]) -> dict[str, str]:
    """A random alias per deleted message's key, the same for its row and its clicks in
    the analytics copy, and kept nowhere: nothing leads from an alias back to the key."""
    aliases: dict[str, str] = {}
    for part in chunks(message_ids):
        stmt = select(Message.idempotency_key).where(Message.id.in_(part))
        aliases.update((key, f"purged.{secrets.token_hex(12)}") for key in session.scalars(stmt))
    return aliases


def unlink_clicks(settings: Settings, aliases: dict[str, str]) -> int:
    """Clicks in the analytics copy name their message by its key, a hash of the job and
    the customer: once the message rows are deleted, the clicks get the alias their
    message's copy got, and lose the link code. They still count, for their message too.
    Returns the day files rewritten."""
    folder = settings.parquet_dir / "link_clicks"
    if not aliases or not folder.is_dir():
        return 0
    rewritten = 0
    for path in sorted(folder.glob("day=*/data.parquet")):
        data = pl.read_parquet(path)
        if "message_key" not in data.columns:
            continue
        gone = pl.col("message_key").is_in(sorted(aliases))
        if not data.select(gone.any()).item():
            continue
        # One select: the code is cleared by the key as it was, then the key is aliased.
        code = pl.when(gone).then(None).otherwise(pl.col("code")).alias("code")
        data = data.with_columns(
            pl.col("message_key").replace(aliases), *([code] if "code" in data.columns else [])
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
