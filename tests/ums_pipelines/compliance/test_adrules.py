"""The advertising rules at target extraction: the consent's 2-year age and the 6-month
transaction exception (an opt-out, a withdrawal and death still win)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from ums_pipelines.compliance.adrules import intake_channels
from ums_pipelines.customers.optouts import OptOutScope, record_opt_out
from ums_pipelines.lanes import Purpose
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Consent, Customer, Job
from ums_pipelines.targets import extract_targets, read_targets

ROUTES = {"default": ["alimtalk", "sms"]}


def _aged(bank: Any, customer_id: str, days: int, purpose: str = "ad") -> None:
    with bank.store.session() as session:
        session.execute(
            update(Consent)
            .where(Consent.customer_id == customer_id, Consent.purpose == purpose)
            .values(consented_at=utcnow() - timedelta(days=days))
        )


def _bought(bank: Any, customer_id: str, kind: str, days_ago: int) -> None:
    with bank.store.session() as session:
        session.execute(
            update(Customer)
            .where(Customer.customer_id == customer_id)
            .values(
                last_transaction_kind=kind, last_transaction_at=utcnow() - timedelta(days=days_ago)
            )
        )


def _ad_job(bank: Any, product_kind: str | None = None) -> str:
    job_id = bank.register(purpose=Purpose.ADVERTISING, routes=ROUTES, template_code="ad-tpl")
    if product_kind is not None:
        with bank.store.session() as session:
            session.execute(
                update(Job).where(Job.job_id == job_id).values(product_kind=product_kind)
            )
    return job_id


def _frozen(bank: Any, job_id: str) -> dict[str, list[str]]:
    frame = read_targets(bank.settings, job_id)
    return dict(zip(frame["customer_id"].to_list(), frame["chain"].to_list(), strict=True))


def test_an_ad_consent_older_than_two_years_is_consent_expired(bank: Any) -> None:
    bank.add_customer("fresh", purpose="ad")
    bank.add_customer("almost", purpose="ad")
    bank.add_customer("old", purpose="ad")
    bank.add_customer("none", consents=())
    _aged(bank, "almost", 729)
    _aged(bank, "old", 731)

    result = extract_targets(bank.store, bank.settings, _ad_job(bank))

    assert result.suppressed == {"consent_expired": 1, "no_consent": 1}
    assert result.admitted == {}
    assert sorted(_frozen(bank, result.job_id)) == ["almost", "fresh"]


def test_one_fresh_channel_is_enough_and_the_old_one_is_dropped(bank: Any) -> None:
    bank.add_customer("mixed", purpose="ad", consents=("alimtalk", "sms"))
    with bank.store.session() as session:
        session.execute(
            update(Consent)
            .where(Consent.channel == "alimtalk")
            .values(consented_at=utcnow() - timedelta(days=800))
        )
    result = extract_targets(bank.store, bank.settings, _ad_job(bank))
    assert _frozen(bank, result.job_id) == {"mixed": ["sms"]}


def test_the_age_is_a_setting_and_informational_consents_have_none(bank: Any) -> None:
    bank.add_customer("ad-400", purpose="ad")
    _aged(bank, "ad-400", 400)
    bank.settings.ad_consent_valid_days = 365
    result = extract_targets(bank.store, bank.settings, _ad_job(bank))
    assert result.suppressed == {"consent_expired": 1}

    bank.add_customer("info-3000", purpose="info")
    _aged(bank, "info-3000", 3000, purpose="info")
    info = bank.register(routes=ROUTES)
    assert "info-3000" in _frozen(bank, extract_targets(bank.store, bank.settings, info).job_id)


def test_transaction_exception_reaches_recent_buyers_of_the_same_kind(bank: Any) -> None:
    for cid in ("card-10d", "card-200d", "loan-10d", "card-optout", "card-dead", "card-refused"):
        bank.add_customer(cid, consents=(), deceased=cid == "card-dead")
    bank.add_customer("consented", purpose="ad", consents=("sms",))
    _bought(bank, "card-10d", "card", 10)
    _bought(bank, "card-200d", "card", 200)
    _bought(bank, "loan-10d", "loan", 10)
    _bought(bank, "card-optout", "card", 10)
    _bought(bank, "card-dead", "card", 10)
    _bought(bank, "card-refused", "card", 10)
    _bought(bank, "consented", "card", 10)
    now = utcnow()
    with bank.store.session() as session:
        record_opt_out(
            session,
            "card-optout",
            OptOutScope(purpose="advertising"),
            source="mo",
            reference="1",
            reason="test",
            at=now,
            now=now,
        )
        # An explicit withdrawal on alimtalk: the exception never overrides a refusal.
        session.add(
            Consent(
                customer_id="card-refused",
                channel="alimtalk",
                purpose="ad",
                granted=False,
                consented_at=now,
                source="test",
            )
        )

    result = extract_targets(bank.store, bank.settings, _ad_job(bank, "card"))

    assert _frozen(bank, result.job_id) == {
        "card-10d": ["alimtalk", "sms"],
        "card-refused": ["sms"],
        # Consented on sms; alimtalk comes by the exception.
        "consented": ["alimtalk", "sms"],
    }
    assert result.suppressed == {"no_consent": 2, "opt_out": 1, "deceased": 1}
    assert result.admitted == {"transaction_exception": 3}
    again = extract_targets(bank.store, bank.settings, result.job_id)
    assert again.frozen and again.admitted == {"transaction_exception": 3}


def test_the_exception_needs_a_product_kind_and_can_be_switched_off(bank: Any) -> None:
    bank.add_customer("buyer", consents=())
    _bought(bank, "buyer", "card", 10)
    no_kind = extract_targets(bank.store, bank.settings, _ad_job(bank))
    assert no_kind.suppressed == {"no_consent": 1}

    bank.settings.ad_transaction_exception = False
    off = extract_targets(bank.store, bank.settings, _ad_job(bank, "card"))
    assert off.suppressed == {"no_consent": 1} and off.targets == 0

    bank.settings.ad_transaction_exception = True
    bank.settings.ad_transaction_exception_days = 5
    short = extract_targets(bank.store, bank.settings, _ad_job(bank, "card"))
    assert short.targets == 0
    bank.settings.ad_transaction_exception_days = 183
    on = extract_targets(bank.store, bank.settings, _ad_job(bank, "card"))
    assert on.targets == 1 and on.admitted == {"transaction_exception": 1}


def test_intake_applies_the_same_rules(bank: Any) -> None:
    bank.add_customer("old", purpose="ad")
    _aged(bank, "old", 800)
    bank.add_customer("buyer", consents=())
    _bought(bank, "buyer", "card", 10)
    job_id = _ad_job(bank, "card")
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        now = utcnow()
        chain = ["alimtalk", "sms"]
        got, why = intake_channels(session, bank.settings, job, "old", chain, now)
        assert got == [] and why is not None and "older than allowed" in why
        assert intake_channels(session, bank.settings, job, "buyer", chain, now) == (chain, None)
