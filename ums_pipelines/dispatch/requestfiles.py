"""The real-time drop folder: ``UMS_HOME/inbox/requests/*.jsonl``, one request per line.

A source system writes ``.name.jsonl.tmp`` and renames it to ``name.jsonl`` (dot-files
are never read). Every good line is submitted (idempotent on its caller key, so a file
read twice, or by two agents at once, writes nothing twice); every bad line gets an
error naming its field and reason. The file then moves to ``done/`` with its errors in
``<moved name>.errors.txt`` beside it, or, when no line was good, to ``rejected/`` with
``<moved name>.reason.txt``. Nothing is ever deleted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ums_pipelines.dispatch.intake import IntakeError, submit
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, utcnow

__all__ = ["LineError", "RequestFileResult", "pending_request_files", "sync_request_files"]

log = logging.getLogger(__name__)

DONE = "done"
REJECTED = "rejected"
_FIELDS = {
    "caller",
    "caller_key",
    "customer_id",
    "template_code",
    "job_id",
    "variables",
    "lane",
    "chain",
    "sender_number",
}


@dataclass(frozen=True)
class LineError:
    line_no: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.field or '-'}: {self.reason}"


@dataclass
class RequestFileResult:
    file_name: str
    status: str = "applied"  # applied | partial | rejected
    lines: int = 0
    queued: int = 0
    rejected: int = 0  # accepted as requests, refused by policy (see send_requests.error)
    duplicates: int = 0
    errors: list[LineError] = field(default_factory=list)
    moved_to: Path | None = None


def requests_inbox(settings: Settings) -> Path:
    return settings.inbox_dir / "requests"


def pending_request_files(settings: Settings) -> list[Path]:
    inbox = requests_inbox(settings)
    if not inbox.is_dir():
        return []
    return sorted(
        p
        for p in inbox.iterdir()
        if p.suffix.lower() == ".jsonl" and not p.name.startswith(".") and p.is_file()
    )


def sync_request_files(store: Store, settings: Settings) -> list[RequestFileResult]:
    """Submit every pending request file's lines, oldest name first."""
    results = []
    for path in pending_request_files(settings):
        result = _sync_file(store, settings, path)
        if result is not None:
            # Counts and field names only: request lines carry customer data.
            log.info(
                "request file %s: %s, %d lines, %d queued, %d refused, %d repeated, %d bad",
                result.file_name,
                result.status,
                result.lines,
                result.queued,
                result.rejected,
                result.duplicates,
                len(result.errors),
            )
            results.append(result)
    return results


def _split(line: str) -> tuple[str | None, str] | dict[str, Any]:
    """A line's request fields, or (field, reason) of what is wrong with it."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(value, dict):
        return None, f"a request must be a JSON object, not {type(value).__name__}"
    unknown = sorted(set(value) - _FIELDS)
    if unknown:
        return unknown[0], "unknown field"
    for name in ("caller", "caller_key", "customer_id"):
        if name not in value:
            return name, "required field missing"
    for name in ("caller", "caller_key", "customer_id", "template_code", "job_id"):
        if name in value and not isinstance(value[name], str):
            return name, f"must be a string, not {type(value[name]).__name__}"
    if "chain" in value and not isinstance(value["chain"], list):
        return "chain", "must be a list of channels"
    return value


def _sync_file(store: Store, settings: Settings, path: Path) -> RequestFileResult | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None  # another agent took it between listing and reading
    except (OSError, UnicodeDecodeError) as exc:
        result = RequestFileResult(path.name, "rejected")
        result.errors.append(LineError(0, None, f"cannot read the file: {type(exc).__name__}"))
        result.moved_to = _park(path, requests_inbox(settings) / REJECTED, result, "reason")
        return result
    result = RequestFileResult(path.name)
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        result.lines += 1
        fields = _split(line)
        if isinstance(fields, tuple):
            result.errors.append(LineError(line_no, *fields))
            continue
        try:
            answer = submit(store, settings, **fields)
        except IntakeError as exc:
            name, _, reason = str(exc).partition(": ")
            result.errors.append(LineError(line_no, name if reason else None, reason or name))
            continue
        if not answer.created:
            result.duplicates += 1
        elif answer.state == "queued":
            result.queued += 1
        else:
            result.rejected += 1
    good = result.lines - len(result.errors)
    if result.errors:
        result.status = "partial" if good else "rejected"
    inbox = requests_inbox(settings)
    if result.status == "rejected":
        result.moved_to = _park(path, inbox / REJECTED, result, "reason")
    else:
        result.moved_to = _park(path, inbox / DONE, result, "errors")
    return result


def _park(path: Path, directory: Path, result: RequestFileResult, note: str) -> Path | None:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    target = directory / f"{stamp}_{path.name}"
    n = 1
    while target.exists():
        target = directory / f"{stamp}-{n}_{path.name}"
        n += 1
    if result.errors:
        # The errors are written before the move: a crash in between leaves the file in
        # the inbox to be read again (nothing is submitted twice), never a bare file.
        sidecar = target.with_name(f"{target.name}.{note}.txt")
        temp = target.with_name(f".{sidecar.name}.tmp")
        temp.write_text("".join(f"{e}\n" for e in result.errors), encoding="utf-8")
        temp.replace(sidecar)
    try:
        path.replace(target)
    except FileNotFoundError:
        log.warning("request file %s was moved away during the sync", path.name)
        return None
    return target
