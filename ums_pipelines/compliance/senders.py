"""The sender registry: caller numbers, Kakao sender profiles, RCS brands and chatbots,
e-mail domains, each with its owning department, proof document and validity.

Only registered numbers owned by the bank may be a caller number (Telecommunications
Business Act; ``shared/DOMAIN.md``): a job whose number is unregistered, deactivated,
expired or not yet valid in its send window is refused (``usable``). Every change is
audited with the entry before and after: the audit log is the registry's change feed
(``senders_export.changes_since``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.compliance.senders_fields import (
    FIELDS,
    KINDS,
    NOUNS,
    SenderError,
    check_fields,
    check_window,
    clean_value,
)
from ums_pipelines.store.compliance import Sender
from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import SenderNumber

__all__ = [
    "FIELDS",
    "KEEP",
    "KINDS",
    "Entry",
    "Registered",
    "SenderError",
    "clean_value",
    "deactivate",
    "entries",
    "register",
    "update",
    "usable",
]

Registered = SenderNumber | Sender


class _Keep(Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP  # an ``update`` argument left as it is


@dataclass(frozen=True)
class Entry:
    """One registry entry of either table, as listed and exported."""

    kind: str
    value: str
    label: str
    department: str | None
    proof_ref: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    active: bool
    registered_at: datetime
    updated_at: datetime | None
    revision: int | None
    detail: dict[str, Any] | None

    def status(self, at: datetime) -> str:
        """``active``, ``inactive``, ``expired`` or ``not yet valid`` at ``at``."""
        if not self.active:
            return "inactive"
        if self.valid_until is not None and self.valid_until <= at:
            return "expired"
        if self.valid_from is not None and self.valid_from > at:
            return "not yet valid"
        return "active"


def _opt(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def _entry(kind: str, row: Registered) -> Entry:
    if isinstance(row, SenderNumber):
        value, revision, detail = row.number, None, None
    else:
        value, revision, detail = row.value, row.revision, row.detail
    return Entry(
        kind=kind,
        value=value,
        label=row.label,
        department=row.department,
        proof_ref=row.proof_ref,
        valid_from=_opt(row.valid_from),
        valid_until=_opt(row.valid_until),
        active=row.active,
        registered_at=as_utc(row.registered_at),
        updated_at=_opt(row.updated_at),
        revision=revision,
        detail=detail,
    )


def _state(entry: Entry) -> dict[str, Any]:
    """An entry as the audit log keeps it (JSON, times in ISO 8601)."""
    return {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in vars(entry).items()
        if k not in ("registered_at", "updated_at")
    }


def _find(session: Session, kind: str, value: str) -> Registered | None:
    if kind == "number":
        return session.get(SenderNumber, value)
    query = select(Sender).where(Sender.kind == kind, Sender.value == value)
    return session.scalars(query).first()


def _audit(
    session: Session, actor: str, kind: str, verb: str, before: Any, row: Registered
) -> None:
    entry = _entry(kind, row)
    entity = "sender_number" if kind == "number" else "sender"
    key = entry.value if kind == "number" else f"{kind}:{entry.value}"
    after = _state(entry)
    audit.record(session, actor, f"{entity}.{verb}", entity, key, before=before, after=after)


def register(
    session: Session,
    kind: str,
    value: str,
    label: str,
    actor: str,
    *,
    department: str | None = None,
    proof_ref: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> Registered:
    """Register a sender; one already registered is refused (change it with ``update``)."""
    value = clean_value(kind, value)
    fields: dict[str, Any] = {"label": label, "department": department, "proof_ref": proof_ref}
    fields |= {"valid_from": valid_from, "valid_until": valid_until}
    if kind != "number":
        fields["detail"] = detail
    elif detail is not None:
        raise SenderError("detail: a caller number has no detail")
    checked = check_fields(kind, fields)
    check_window(checked["valid_from"], checked["valid_until"])
    if _find(session, kind, value) is not None:
        raise SenderError(f"{FIELDS[kind]}: {value} is already registered")
    now = utcnow()
    row: Registered
    if kind == "number":
        row = SenderNumber(number=value, active=True, registered_at=now, updated_at=now, **checked)
    else:
        row = Sender(kind=kind, value=value, active=True, registered_at=now, revision=1)
        row.updated_at = now
        for name, given in checked.items():
            setattr(row, name, given)
    session.add(row)
    session.flush()
    _audit(session, actor, kind, "registered", None, row)
    return row


def update(
    session: Session,
    kind: str,
    value: str,
    actor: str,
    *,
    label: str | _Keep = KEEP,
    department: str | _Keep | None = KEEP,
    proof_ref: str | _Keep | None = KEEP,
    valid_from: datetime | _Keep | None = KEEP,
    valid_until: datetime | _Keep | None = KEEP,
    active: bool | _Keep = KEEP,
    detail: dict[str, Any] | _Keep | None = KEEP,
) -> Registered:
    """Change the given fields (None clears one); a change that changes nothing is not
    recorded."""
    value = clean_value(kind, value)
    row = _find(session, kind, value)
    if row is None:
        raise SenderError(f"{FIELDS[kind]}: {value} is not registered")
    given: dict[str, Any] = dict(label=label, department=department, proof_ref=proof_ref)
    given |= dict(valid_from=valid_from, valid_until=valid_until, active=active, detail=detail)
    checked = check_fields(kind, {k: v for k, v in given.items() if v is not KEEP})
    before = _entry(kind, row)
    new = {k: as_utc(v) if isinstance(v, datetime) else v for k, v in checked.items()}
    since, until = (
        new.get("valid_from", before.valid_from),
        new.get("valid_until", before.valid_until),
    )
    check_window(since, until)
    if all(v == getattr(before, k) for k, v in new.items()):
        return row
    for name, changed in checked.items():
        setattr(row, name, changed)
    row.updated_at = utcnow()
    if isinstance(row, Sender):
        row.revision += 1
    session.flush()
    verb = "deactivated" if before.active and checked.get("active") is False else "updated"
    _audit(session, actor, kind, verb, _state(before), row)
    return row


def deactivate(session: Session, kind: str, value: str, actor: str) -> Registered:
    """Stop a sender being used; kept on record (and can be made active again)."""
    return update(session, kind, value, actor, active=False)


def entries(
    session: Session,
    kind: str | None = None,
    department: str | None = None,
    include_inactive: bool = False,
) -> list[Entry]:
    """Registry entries by kind (numbers first) and value."""
    found: list[Entry] = []
    for k in KINDS if kind is None else (kind,):
        if k not in KINDS:
            raise SenderError(f"kind: {k!r} is not one of {', '.join(KINDS)}")
        if k == "number":
            rows: list[Registered] = list(session.scalars(select(SenderNumber)))
        else:
            rows = list(session.scalars(select(Sender).where(Sender.kind == k)))
        found += sorted((_entry(k, r) for r in rows), key=lambda e: e.value)
    return [
        e
        for e in found
        if (include_inactive or e.active) and (department is None or e.department == department)
    ]


def usable(
    session: Session,
    kind: str,
    value: str,
    *,
    not_before: datetime | None = None,
    must_end_by: datetime | None = None,
    now: datetime | None = None,
) -> Registered:
    """The registered sender a job may use in its window (``not_before`` to
    ``must_end_by``, from ``now`` when it has no start), else SenderError saying why."""
    if kind not in KINDS:
        raise SenderError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    field = FIELDS[kind]
    shown = value
    try:
        row = _find(session, kind, clean_value(kind, value))
    except SenderError:
        row = None
    if row is None:
        raise SenderError(f"{field}: {shown} is not a registered sender {NOUNS[kind]}")
    entry = _entry(kind, row)
    now = now or utcnow()
    start = max(as_utc(not_before), now) if not_before is not None else now
    if not entry.active:
        raise SenderError(f"{field}: {shown} is registered but not active (deactivated)")
    until, since = entry.valid_until, entry.valid_from
    if until is not None and until <= now:
        raise SenderError(f"{field}: {shown} expired at {until.isoformat()}")
    if until is not None and must_end_by is not None and until < as_utc(must_end_by):
        raise SenderError(
            f"{field}: {shown} is valid until {until.isoformat()}, before the job's window"
            f" ends ({as_utc(must_end_by).isoformat()})"
        )
    if since is not None and since > start:
        raise SenderError(
            f"{field}: {shown} is not yet valid: from {since.isoformat()}, after the job"
            f" may start ({start.isoformat()})"
        )
    return row
