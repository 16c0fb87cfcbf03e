"""Sharing the sender registry with the departments that maintain it (consumer
protection, general affairs, customer care): a file export and a change feed.

The export is CSV (UTF-8 with a byte-order mark, so Excel reads Hangul) or JSON. The
change feed is the audit log's registry entries: each with its audit id, so a department
polls with the last id it has seen and gets what changed since, before and after.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.compliance.senders import Entry, SenderError, entries
from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import AuditLog

__all__ = ["COLUMNS", "ENTITIES", "Change", "changes_since", "export_registry", "registry_rows"]

COLUMNS = (
    "kind", "value", "label", "department", "proof_ref", "valid_from", "valid_until",
    "active", "status", "registered_at", "updated_at", "revision", "detail",
)  # fmt: skip
ENTITIES = ("sender_number", "sender")  # the audit entities of the registry


def _when(value: datetime | None, tz: tzinfo) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None


def registry_rows(session: Session, tz: tzinfo = UTC) -> list[dict[str, Any]]:
    """Every entry, inactive ones too (a department reconciles against the whole list),
    with its status now; times in ``tz``."""
    now = utcnow()

    def row(e: Entry) -> dict[str, Any]:
        return {
            **{k: getattr(e, k) for k in ("kind", "value", "label", "department", "proof_ref")},
            "valid_from": _when(e.valid_from, tz),
            "valid_until": _when(e.valid_until, tz),
            "active": e.active,
            "status": e.status(now),
            "registered_at": _when(e.registered_at, tz),
            "updated_at": _when(e.updated_at, tz),
            "revision": e.revision,
            "detail": e.detail,
        }

    return [row(e) for e in entries(session, include_inactive=True)]


def export_registry(session: Session, path: Path, tz: tzinfo = UTC) -> int:
    """Write the registry to ``path`` (.csv or .json); returns the number of entries."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise SenderError(f"path: {path.name!r} must end in .csv or .json")
    rows = registry_rows(session, tz)
    if suffix == ".json":
        text = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for r in rows:
            detail = json.dumps(r["detail"], ensure_ascii=False) if r["detail"] else ""
            writer.writerow({**r, "active": "Y" if r["active"] else "N", "detail": detail})
        text = out.getvalue()
    try:
        # utf-8-sig: the byte-order mark tells Excel the CSV is UTF-8 (else it reads CP949).
        path.write_text(text, encoding="utf-8-sig" if suffix == ".csv" else "utf-8")
    except OSError as exc:
        raise SenderError(f"path: {path} cannot be written ({exc.strerror})") from None
    return len(rows)


@dataclass(frozen=True)
class Change:
    """One change to the registry: ``id`` is the audit entry's, for the next poll."""

    id: int
    at: datetime
    actor: str
    action: str  # e.g. sender_number.registered, sender.updated, sender_number.deactivated
    kind: str
    value: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {**vars(self), "at": self.at.isoformat()}


def changes_since(session: Session, after_id: int = 0, limit: int = 1000) -> list[Change]:
    """The registry's changes with an audit id above ``after_id``, oldest first."""
    if after_id < 0:
        raise SenderError(f"after_id: {after_id} is below 0")
    if not 1 <= limit <= 100_000:
        raise SenderError(f"limit: {limit} is not within 1..100000")
    query = (
        select(AuditLog)
        .where(AuditLog.entity.in_(ENTITIES), AuditLog.id > after_id)
        .order_by(AuditLog.id)
        .limit(limit)
    )
    changes = []
    for a in session.scalars(query):
        detail = a.detail or {}
        kind, _, value = a.entity_id.partition(":")
        if a.entity == "sender_number":
            kind, value = "number", a.entity_id
        after = detail.get("after")
        if after is None and "label" in detail:  # numbers registered before the registry
            after = {"value": a.entity_id, "label": detail["label"], "active": True}
        changes.append(
            Change(a.id, as_utc(a.at), a.actor, a.action, kind, value, detail.get("before"), after)
        )
    return changes
