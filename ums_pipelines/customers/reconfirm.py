"""Reconfirming advertising consents every 2 years (Network Act art. 50; shared/DOMAIN.md).

An advertising consent stops counting ``ad_consent_valid_days`` after it was given
(``compliance.adrules``). ``send_reconfirm_notices`` tells each customer whose oldest
granted advertising consent reaches that age within ``ad_reconfirm_notice_days`` (or
already has) that it will lapse, as a real-time informational message of a template the
bank registered for it, through the ordinary intake (queued, sent, retried and billed
like any other). The caller key ``consent-reconfirm-<customer>-<consented_at date>``
makes a second run send nothing twice, and a renewed consent (a new date) gets its own
notice two years on. A notice the intake refused (no consent or address on any channel
of the template) is not retried under the same key: ``reconfirmations_due`` shows it.

Deceased customers and customers with an active advertising opt-out get no notice: the
one is pointless, the other would be asking again someone who said no.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.customers.optouts import ALL, active_opt_outs
from ums_pipelines.dispatch.intake import IntakeError, submit
from ums_pipelines.lanes import CHANNELS, Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, as_utc, utcnow
from ums_pipelines.store.models import Consent, Customer, Template
from ums_pipelines.store.sendplane import SendRequest

__all__ = [
    "CALLER",
    "Due",
    "ReconfirmResult",
    "caller_key",
    "reconfirmations_due",
    "send_reconfirm_notices",
]

CALLER = "ums-consent"
AD = Purpose.ADVERTISING.consent_key


@dataclass(frozen=True)
class Due:
    customer_id: str
    consented_at: datetime  # the oldest granted advertising consent
    lapses_at: datetime
    state: str  # pending | sent | refused
    reason: str | None = None


@dataclass
class ReconfirmResult:
    submitted: int = 0
    already: int = 0  # notified by an earlier run
    refused: dict[str, int] = field(default_factory=dict)


def caller_key(customer_id: str, consented_at: datetime, settings: Settings) -> str:
    day: date = as_utc(consented_at).astimezone(settings.tz).date()
    return f"consent-reconfirm-{customer_id}-{day.isoformat()}"


def _candidates(
    session: Session, settings: Settings, now: datetime, limit: int | None
) -> list[tuple[str, datetime]]:
    """(customer, oldest granted ad consent) lapsing by ``now`` + the notice period."""
    valid = timedelta(days=settings.ad_consent_valid_days)
    cutoff = now + timedelta(days=settings.ad_reconfirm_notice_days) - valid
    oldest = func.min(Consent.consented_at)
    query = (
        select(Consent.customer_id, oldest)
        .join(Customer, Customer.customer_id == Consent.customer_id)
        .where(Consent.purpose == AD, Consent.granted.is_(True), Customer.deceased.is_(False))
        .group_by(Consent.customer_id)
        .having(oldest <= cutoff)
        .order_by(oldest, Consent.customer_id)
    )
    rows = [(cid, as_utc(at)) for cid, at in session.execute(query)]
    opted = active_opt_outs(session, Purpose.ADVERTISING.value, CHANNELS)
    # Only an opt-out of every channel stops the notice: one of a single channel leaves
    # consents elsewhere that still lapse.
    rows = [(cid, at) for cid, at in rows if ALL not in opted.get(cid, set())]
    return rows[:limit] if limit else rows


def reconfirmations_due(
    session: Session, settings: Settings, now: datetime | None = None
) -> list[Due]:
    """Every advertising consent lapsing within the notice period (or lapsed), oldest
    first, with whether its notice was sent or refused."""
    now = now or utcnow()
    valid = timedelta(days=settings.ad_consent_valid_days)
    found = _candidates(session, settings, now, None)
    keys = {caller_key(cid, at, settings): (cid, at) for cid, at in found}
    answers = {
        key: (state, error)
        for key, state, error in session.execute(
            select(SendRequest.caller_key, SendRequest.state, SendRequest.error).where(
                SendRequest.caller == CALLER, SendRequest.caller_key.in_(list(keys))
            )
        )
    }
    due = []
    for key, (cid, at) in keys.items():
        state, error = answers.get(key, ("pending", None))
        shown = {"queued": "sent", "rejected": "refused"}.get(state, state)
        due.append(Due(cid, at, at + valid, shown, error))
    return due


def send_reconfirm_notices(
    store: Store,
    settings: Settings,
    template_code: str,
    limit: int = 1000,
    now: datetime | None = None,
) -> ReconfirmResult:
    """Send the reconfirmation notice of up to ``limit`` lapsing consents, oldest first.

    Raises ``IntakeError`` (naming the field) for a template that does not exist or is
    not informational (a notice about consent is not itself advertising)."""
    now = now or utcnow()
    result = ReconfirmResult()
    refused: Counter[str] = Counter()
    with store.session() as session:
        purpose = session.scalar(select(Template.purpose).where(Template.code == template_code))
        if purpose is None:
            raise IntakeError(f"template_code: no template {template_code!r}")
        if purpose != Purpose.INFORMATIONAL.value:
            raise IntakeError(
                f"template_code: {template_code!r} is {purpose}; a reconfirmation notice"
                " must be informational"
            )
        pending = _candidates(session, settings, now, None)
    for customer_id, consented_at in pending:
        if result.submitted >= limit:
            break
        answer = submit(
            store,
            settings,
            caller=CALLER,
            caller_key=caller_key(customer_id, consented_at, settings),
            customer_id=customer_id,
            template_code=template_code,
        )
        if not answer.created:
            result.already += 1
            continue
        if answer.state != "queued":
            refused[(answer.error or "refused").split(":")[0]] += 1
            continue
        lapses = consented_at + timedelta(days=settings.ad_consent_valid_days)
        with store.session() as session:
            audit.record(
                session,
                "ums",
                "consent.reconfirm_notice_sent",
                "customer",
                customer_id,
                message_id=answer.message_id,
                consented_at=consented_at.isoformat(),
                lapses_at=lapses.isoformat(),
                template=template_code,
            )
        result.submitted += 1
    result.refused = dict(refused)
    return result
