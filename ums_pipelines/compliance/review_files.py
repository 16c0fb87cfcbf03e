"""Where the review system's files live, and how they are written and filed away.

A request is written whole or not at all (a temporary name, then a rename), so the
review system never reads half a file; it should write its decisions the same way (a
name not ending in ``.json`` until complete). A decision file read is moved, never
deleted: to ``done/`` once applied, to ``rejected/`` with a ``.reason.txt`` beside it
when it cannot be read or is not allowed.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ums_pipelines.settings import Settings

__all__ = ["DONE", "REJECTED", "file_away", "inbox_dir", "outbox_dir", "write_atomic"]

DONE, REJECTED = "done", "rejected"


def outbox_dir(settings: Settings) -> Path:
    """Requests go here (``UMS_REVIEW_OUTBOX_DIR``, default UMS_HOME/review/outbox)."""
    return settings.review_outbox_dir or settings.resolved_home / "review" / "outbox"


def inbox_dir(settings: Settings) -> Path:
    """Decisions arrive here (``UMS_REVIEW_INBOX_DIR``, default UMS_HOME/review/inbox)."""
    return settings.review_inbox_dir or settings.resolved_home / "review" / "inbox"


def write_atomic(directory: Path, name: str, payload: Mapping[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    tmp = directory / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    text = json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True)
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    return path


def file_away(path: Path, folder: str, reason: str | None = None) -> Path:
    """Move a decision file into ``folder`` beside it (a name taken gets a suffix, so a
    file is never overwritten); a refusal's reason is written next to it."""
    target_dir = path.parent / folder
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        target = target_dir / f"{path.stem}.{uuid.uuid4().hex[:8]}{path.suffix}"
    if reason is not None:
        target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    path.replace(target)
    return target
