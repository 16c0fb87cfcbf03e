"""What a sync run tells its caller (a Dagster sensor/asset, the CLI, a test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

__all__ = ["FileResult", "FileStatus", "Issue", "QuarantinedRecord", "SyncReport"]

FileStatus = Literal["applied", "partial", "rejected", "duplicate"]


@dataclass(frozen=True)
class Issue:
    """One problem found in a file; ``reason`` is masked and names the field."""

    line: int
    field: str | None
    reason: str


@dataclass
class FileResult:
    file_name: str
    status: FileStatus
    sha256: str | None = None
    encoding: str | None = None
    format: str | None = None  # "csv", "jsonl" or "fixed:<layout name>"
    rows_total: int = 0
    rows_applied: int = 0
    rows_stale: int = 0
    rows_quarantined: int = 0
    issues: list[Issue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reason: str | None = None  # why a file was rejected
    note: str | None = None  # a problem of an applied file as a whole (a trailer count)
    moved_to: Path | None = None


@dataclass
class SyncReport:
    files: list[FileResult] = field(default_factory=list)

    def by_status(self, status: FileStatus) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    @property
    def rows_applied(self) -> int:
        return sum(f.rows_applied for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)


@dataclass(frozen=True)
class QuarantinedRecord:
    """A quarantined row as stored; ``raw`` is the customer's line, personal data included."""

    file_id: int
    file_name: str
    line_no: int
    field: str | None
    reason: str
    raw: str
    id: int | None = None
    cells: dict[str, Any] | None = None  # the row's fields as parsed, personal data included
    replayed_at: datetime | None = None
    replayed_by: str | None = None
