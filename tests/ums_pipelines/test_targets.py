"""Target extraction: suppression reasons, reachable chains, and a frozen list."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from ums_pipelines.audit import verify_chain
from ums_pipelines.lanes import Purpose
from ums_pipelines.store.models import Consent, Customer, Job
from ums_pipelines.targets import contact_for, extract_targets, read_targets, targets_path

ROUTES = {"alimtalk": ["alimtalk", "sms"], "push": ["push", "sms"], "default": ["sms"]}


def frozen(bank: Any, job_id: str) -> dict[str, list[str]]:
    frame = read_targets(bank.settings, job_id)
    return dict(zip(frame["customer_id"].to_list(), frame["chain"].to_list(), strict=True))


def test_suppression_reasons(bank: Any) -> None:
    bank.add_customer("A-ok", preferred="alimtalk")
    bank.add_customer("B-deceased", deceased=True)
    bank.add_customer("C-no-consent", consents=())
    bank.add_customer("D-ad-consent-only", purpose="ad")
    bank.add_customer("E-no-phone", phone=None)
    bank.add_customer("F-push-no-token", preferred="push", push_token=None)
    bank.add_customer("G-push-sms-only", preferred="push", push_token="tok", consents=("sms",))
    bank.add_customer("H-unknown-pref", preferred="fax")
    bank.add_customer("I-no-pref", preferred=None)
    job_id = bank.register(routes=ROUTES)

    result = bank_extract(bank, job_id)

    assert result.suppressed == {"deceased": 1, "no_consent": 2, "no_contact": 1}
    assert frozen(bank, job_id) == {
        "A-ok": ["alimtalk", "sms"],
        # No push token: the chain keeps only the reachable legs.
        "F-push-no-token": ["sms"],
        # Push not consented: the sms leg alone.
        "G-push-sms-only": ["sms"],
        # Unknown or missing preference: the default route.
        "H-unknown-pref": ["sms"],
        "I-no-pref": ["sms"],
    }
    assert result.targets == 5
    assert result.by_first_channel == {"alimtalk": 1, "sms": 4}
    assert not result.frozen


def bank_extract(bank: Any, job_id: str) -> Any:
    return extract_targets(bank.store, bank.settings, job_id)


def test_no_route_without_default(bank: Any) -> None:
    bank.add_customer("A", preferred="alimtalk")
    bank.add_customer("B", preferred="sms")
    job_id = bank.register(routes={"alimtalk": ["alimtalk"]})
    result = bank_extract(bank, job_id)
    assert result.suppressed == {"no_route": 1}
    assert frozen(bank, job_id) == {"A": ["alimtalk"]}


def test_advertising_needs_ad_consent(bank: Any) -> None:
    bank.add_customer("info-only", purpose="info")
    bank.add_customer("ad", purpose="ad")
    job_id = bank.register(purpose=Purpose.ADVERTISING, routes=ROUTES, template_code="ad-tpl")
    result = bank_extract(bank, job_id)
    assert result.suppressed == {"no_consent": 1}
    assert list(frozen(bank, job_id)) == ["ad"]


def test_withdrawn_consent_is_no_consent(bank: Any) -> None:
    bank.add_customer("A")
    with bank.store.session() as session:
        session.execute(update(Consent).values(granted=False))
    job_id = bank.register(routes=ROUTES)
    assert bank_extract(bank, job_id).suppressed == {"no_consent": 1}


def test_targets_are_frozen(bank: Any) -> None:
    ids = [f"C{i}" for i in range(5)]
    for cid in ids:
        bank.add_customer(cid, preferred="alimtalk")
    job_id = bank.register(routes=ROUTES)
    first = bank_extract(bank, job_id)
    path = targets_path(bank.settings, job_id)
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns

    # The world changes after the freeze: a customer dies, a consent goes, a new one comes.
    with bank.store.session() as session:
        session.execute(update(Customer).where(Customer.customer_id == "C0").values(deceased=True))
        session.execute(update(Consent).where(Consent.customer_id == "C1").values(granted=False))
    bank.add_customer("C9", preferred="sms")

    again = bank_extract(bank, job_id)
    assert again.frozen
    assert (again.targets, again.suppressed, again.by_first_channel) == (
        first.targets,
        first.suppressed,
        first.by_first_channel,
    )
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert list(frozen(bank, job_id)) == ids


def test_extraction_marks_the_job_and_audits(bank: Any) -> None:
    bank.add_customer("A")
    bank.add_customer("B", deceased=True)
    job_id = bank.register(routes=ROUTES)
    bank_extract(bank, job_id)
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.status, job.target_count, job.suppressed) == ("targeted", 1, {"deceased": 1})
        assert verify_chain(session) >= 1


def test_empty_target_list_is_frozen_too(bank: Any) -> None:
    bank.add_customer("A", deceased=True)
    job_id = bank.register(routes=ROUTES)
    assert bank_extract(bank, job_id).targets == 0
    assert bank_extract(bank, job_id).frozen
    assert read_targets(bank.settings, job_id).height == 0


def test_unknown_job(bank: Any) -> None:
    with pytest.raises(KeyError, match="nope"):
        bank_extract(bank, "nope")


def test_targets_are_in_customer_id_order(bank: Any) -> None:
    for cid in ["C3", "C1", "C2"]:
        bank.add_customer(cid)
    job_id = bank.register(routes=ROUTES)
    bank_extract(bank, job_id)
    assert list(frozen(bank, job_id)) == ["C1", "C2", "C3"]


@pytest.mark.parametrize(
    ("channel", "expected"),
    [("sms", "010"), ("alimtalk", "010"), ("push", "tok"), ("email", "a@b.example"), ("fax", None)],
)
def test_contact_for(channel: str, expected: str | None) -> None:
    c = Customer(customer_id="X", phone="010", push_token="tok", email="a@b.example")
    assert contact_for(c, channel) == expected
