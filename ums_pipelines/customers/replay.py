"""Replaying a quarantined row after correction (``ums interface replay``).

The row's cells as parsed from its file, with the corrections laid over them, are
validated again and applied under the same ordering rule as a sync (an older change never
overwrites a newer one: a corrected row older than the stored change is "stale" and
changes nothing). The quarantined row is then marked replayed, never deleted, and the
replay is audited (field names only, never their values) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import update

from ums_pipelines.audit import record
from ums_pipelines.compliance.access import AccessDenied, guard
from ums_pipelines.customers.apply import apply_rows
from ums_pipelines.customers.sync import check_row
from ums_pipelines.customers.validation import ChangeRow, known_column
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store, utcnow
from ums_pipelines.store.models import QuarantinedRow

__all__ = ["ACCESS_ACTION", "AUDIT_ACTION", "ReplayError", "ReplayResult", "replay_row"]

AUDIT_ACTION = "customer.quarantine.replayed"
# A replay is a sync of one row: the operator role for '*' (compliance/access.py).
ACCESS_ACTION = "customers.sync"


class ReplayError(Exception):
    """The row was not replayed; ``problems`` are its field errors (masked) if any."""

    def __init__(self, message: str, problems: list[tuple[str | None, str]] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class ReplayResult:
    row_id: int
    customer_id: str
    outcome: Literal["applied", "stale"]
    corrected: tuple[str, ...]  # the fields given a new value


def replay_row(
    store: Store,
    settings: Settings,
    row_id: int,
    corrections: Mapping[str, str],
    actor: str,
) -> ReplayResult:
    """Validate and apply quarantined row ``row_id`` with ``corrections``; raise ReplayError."""
    actor = actor.strip()
    if not actor or len(actor) > 64:
        raise ReplayError("actor: required, at most 64 characters")
    fixes = {name.strip().lower(): value for name, value in corrections.items()}
    for name in fixes:
        if not known_column(name):
            raise ReplayError(f"{name}: not a change-file column")
    try:
        guard(store, actor, ACCESS_ACTION, None)  # a refusal is audited in its own transaction
    except AccessDenied as exc:
        raise ReplayError(f"refused: {exc}") from None
    now = utcnow()
    with store.session() as session:
        row = session.get(QuarantinedRow, row_id)
        if row is None:
            raise ReplayError(f"row {row_id}: no such quarantined row")
        if row.replayed_at is not None:
            raise ReplayError(f"row {row_id}: already replayed by {row.replayed_by}")
        if row.cells is None and not fixes:
            raise ReplayError(
                f"row {row_id}: its line could not be cut into fields; give every field"
                " with --set (customer_id and changed_at at least)"
            )
        cells = {str(k): str(v) for k, v in (row.cells or {}).items()} | fixes
        checked = check_row(cells, [], settings, now)
        if not isinstance(checked, ChangeRow):
            raise ReplayError(f"row {row_id}: still invalid", checked)
        applied = apply_rows(session, [checked], source=f"replay:{row_id}", now=now)
        outcome: Literal["applied", "stale"] = "applied" if applied.applied else "stale"
        # Conditional: of two replays of one row at once, one marks it, the other rolls back.
        marked = session.execute(
            update(QuarantinedRow)
            .where(QuarantinedRow.id == row_id, QuarantinedRow.replayed_at.is_(None))
            .values(replayed_at=now, replayed_by=actor)
            .execution_options(synchronize_session=False)
        )
        if getattr(marked, "rowcount", 1) != 1:
            raise ReplayError(f"row {row_id}: already replayed")
        record(
            session,
            actor,
            AUDIT_ACTION,
            "quarantined_row",
            str(row_id),
            file_id=row.file_id,
            line_no=row.line_no,
            customer_id=checked.customer_id,
            corrected=sorted(fixes),
            outcome=outcome,
        )
    return ReplayResult(row_id, checked.customer_id, outcome, tuple(sorted(fixes)))
