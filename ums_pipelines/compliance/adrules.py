"""Who an advertisement may reach (Network Act art. 50): the consent's age and the
6-month transaction exception.

An advertising consent counts for ``ad_consent_valid_days`` (2 years) after it was given
and must be reconfirmed by then (``customers.reconfirm`` sends the notices); an older
one is no consent, and a customer with nothing but old consents is suppressed as
``consent_expired``, not ``no_consent``, so the gap shows as lapsed consents.

The exception: a customer whose last actual transaction was of the job's kind of goods
(``jobs.product_kind`` = ``customers.last_transaction_kind``) within
``ad_transaction_exception_days`` may be sent that kind's advertising without a consent,
on every channel of the route, except one whose consent the customer withdrew (an
explicit refusal: the exception only stands in for a consent never asked). An opt-out
and death still win: target extraction applies them after this.

Both are decided in SQL, as columns of the queries target extraction already runs (a
million customers: no per-row query, no Python date arithmetic per row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, select, true
from sqlalchemy.orm import Session

from ums_pipelines.lanes import Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.models import Consent, Customer, Job

__all__ = [
    "CONSENT_EXPIRED",
    "NO_CONSENT",
    "TRANSACTION_EXCEPTION",
    "AdRules",
    "ad_rules",
    "consent_cutoff",
    "intake_channels",
]

CONSENT_EXPIRED = "consent_expired"
NO_CONSENT = "no_consent"
# The key of the count of targets reached by the exception (TargetResult.admitted).
TRANSACTION_EXCEPTION = "transaction_exception"


def consent_cutoff(settings: Settings, now: datetime) -> datetime:
    """Advertising consents given before this moment no longer count."""
    return now - timedelta(days=settings.ad_consent_valid_days)


@dataclass(frozen=True)
class AdRules:
    """The rules of one job at one moment; for a job that is not advertising every
    consent counts and there is no exception."""

    advertising: bool
    consent_since: datetime | None
    product_kind: str | None
    transaction_since: datetime | None

    def fresh(self) -> ColumnElement[Any]:
        """Per consent row: does it count (true for every non-advertising job)."""
        if self.consent_since is None:
            return true()
        return Consent.consented_at >= self.consent_since

    def by_transaction(self) -> ColumnElement[Any]:
        """Per customer row: does the transaction exception cover this job."""
        if self.product_kind is None or self.transaction_since is None:
            return literal(False)
        return and_(
            Customer.last_transaction_kind == self.product_kind,
            Customer.last_transaction_at >= self.transaction_since,
        )

    @property
    def exception_possible(self) -> bool:
        return self.product_kind is not None


def ad_rules(settings: Settings, job: Job, now: datetime) -> AdRules:
    if job.purpose != Purpose.ADVERTISING.value:
        return AdRules(False, None, None, None)
    kind = (job.product_kind or "").strip() or None
    if not settings.ad_transaction_exception or kind is None:
        return AdRules(True, consent_cutoff(settings, now), None, None)
    since = now - timedelta(days=settings.ad_transaction_exception_days)
    return AdRules(True, consent_cutoff(settings, now), kind, since)


def intake_channels(
    session: Session,
    settings: Settings,
    job: Job,
    customer_id: str,
    wanted: list[str],
    now: datetime,
) -> tuple[list[str], str | None]:
    """The channels of ``wanted`` a real-time message may use under the consent rules
    (the same as target extraction), or none and why (``chain: ...``)."""
    rules = ad_rules(settings, job, now)
    consents = session.execute(
        select(Consent.channel, Consent.granted, rules.fresh().label("fresh")).where(
            Consent.customer_id == customer_id,
            Consent.purpose == Purpose(job.purpose).consent_key,
        )
    ).all()
    valid = {c for c, granted, fresh in consents if granted and fresh}
    withdrawn = {c for c, granted, _ in consents if not granted}
    allowed = [c for c in wanted if c in valid]
    if rules.exception_possible:
        covered = session.execute(
            select(rules.by_transaction()).where(Customer.customer_id == customer_id)
        ).scalar()
        if covered:
            allowed = [c for c in wanted if c in valid or c not in withdrawn]
    if allowed:
        return allowed, None
    expired = {c for c, granted, fresh in consents if granted and not fresh}
    if expired & set(wanted):
        return [], f"chain: advertising consent on {', '.join(wanted)} is older than allowed"
    return [], f"chain: no consent on any of {', '.join(wanted)}"
