"""Confirming opt-outs to the customer, as the law wants within 14 days (shared/DOMAIN.md).

``confirm_opt_outs`` sends each active, unconfirmed opt-out's confirmation as a real-time
message of a template the bank registered for it (informational), through the ordinary
intake, so it is queued, sent, retried and billed like any other message; the caller key
``optout-confirm-<id>`` makes a second run send nothing twice. An opt-out whose
confirmation the intake refused (no consent or no address on any channel of the
template) stays unconfirmed and shows in ``confirmations_due`` for a person to handle.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.dispatch.intake import IntakeError, submit
from ums_pipelines.settings import Settings
from ums_pipelines.store.contact import OptOut
from ums_pipelines.store.engine import Store, as_utc, utcnow
from ums_pipelines.store.models import Template

__all__ = ["CALLER", "CONFIRM_WITHIN", "ConfirmResult", "confirm_opt_outs", "confirmations_due"]

CALLER = "ums-optout"
CONFIRM_WITHIN = timedelta(days=14)


@dataclass
class ConfirmResult:
    submitted: int = 0
    refused: dict[str, int] = field(default_factory=dict)


def _unconfirmed(session: Session, limit: int | None = None) -> list[OptOut]:
    query = (
        select(OptOut)
        .where(OptOut.confirmed_at.is_(None), OptOut.withdrawn_at.is_(None))
        .order_by(OptOut.opted_out_at, OptOut.id)
    )
    return list(session.scalars(query.limit(limit) if limit else query))


def confirmations_due(
    session: Session, within: timedelta = CONFIRM_WITHIN
) -> list[tuple[OptOut, datetime]]:
    """Unconfirmed active opt-outs with the time their confirmation is due, oldest first."""
    return [(row, as_utc(row.opted_out_at) + within) for row in _unconfirmed(session)]


def confirm_opt_outs(
    store: Store, settings: Settings, template_code: str, limit: int = 1000
) -> ConfirmResult:
    """Send the confirmation of up to ``limit`` unconfirmed opt-outs, oldest first.

    Raises ``IntakeError`` (naming the field) for a template that does not exist."""
    result = ConfirmResult()
    refused: Counter[str] = Counter()
    with store.session() as session:
        # Checked here too: a key seen before is answered without looking at the template.
        if session.scalar(select(Template.id).where(Template.code == template_code)) is None:
            raise IntakeError(f"template_code: no template {template_code!r}")
        pending = [(row.id, row.customer_id) for row in _unconfirmed(session, limit)]
    for opt_out_id, customer_id in pending:
        answer = submit(
            store,
            settings,
            caller=CALLER,
            caller_key=f"optout-confirm-{opt_out_id}",
            customer_id=customer_id,
            template_code=template_code,
        )
        if answer.state != "queued":
            refused[(answer.error or "refused").split(":")[0]] += 1
            continue
        with store.session() as session:
            row = session.get(OptOut, opt_out_id)
            assert row is not None
            row.confirmed_at = utcnow()
            audit.record(
                session,
                "ums",
                "optout.confirmation_sent",
                "customer",
                customer_id,
                opt_out_id=opt_out_id,
                message_id=answer.message_id,
                template=template_code,
            )
        result.submitted += 1
    result.refused = dict(refused)
    return result
