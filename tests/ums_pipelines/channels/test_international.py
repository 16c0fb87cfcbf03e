"""International SMS: E.164 numbers, the allow-list, the monthly cap and its alerts."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from ums_pipelines.audit import verify_chain
from ums_pipelines.channels.international import (
    ALERT_ACTION,
    E_INTL_CAP,
    E_INTL_COUNTRY,
    E_INTL_OFF,
    IntlPolicy,
    destination,
    month_usage,
)
from ums_pipelines.customers.validation import ChangeRow
from ums_pipelines.dispatch.compose import compose_row
from ums_pipelines.dispatch.outbox import enqueue_job
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.store.models import AuditLog, Customer, Job, Message

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 415-555-2671", ("+14155552671", "US")),
        ("+81 90-1234-5678", ("+819012345678", "JP")),
        ("+44 7400 123456", ("+447400123456", "GB")),
        ("+86 138 0013 8000", ("+8613800138000", "CN")),
        ("010-1234-5678", None),
        ("+82 10 1234 5678", None),
    ],
)
def test_destination_is_e164_and_country(raw: str, expected: tuple[str, str] | None) -> None:
    assert destination(raw) == expected


@pytest.mark.parametrize("raw", ["+1 555", "hello", "+999 1234 5678"])
def test_invalid_numbers_name_the_recipient_masked(raw: str) -> None:
    with pytest.raises(ValueError, match="recipient: not a") as caught:
        destination(raw)
    assert raw not in str(caught.value) or len(raw) < 9


def policy(bank: Any, **overrides: Any) -> IntlPolicy:
    values = {"intl_enabled": True, "intl_countries": "US, jp"} | overrides
    return IntlPolicy(bank.settings.model_copy(update=values))


@pytest.mark.parametrize(
    ("overrides", "country", "code"),
    [
        ({"intl_enabled": False}, "US", E_INTL_OFF),
        ({}, "US", None),
        ({}, "JP", None),
        ({}, "GB", E_INTL_COUNTRY),
        ({"intl_countries": ""}, "US", E_INTL_COUNTRY),
    ],
)
def test_off_by_default_then_allow_list(
    bank: Any, overrides: dict[str, Any], country: str, code: str | None
) -> None:
    refusal = policy(bank, **overrides).country_refusal(country)
    assert (refusal[0] if refusal else None) == code
    assert IntlPolicy(bank.settings).country_refusal("US") is not None  # default: off


def sent(bank: Any, n: int, price: str, at: datetime = NOW, state: str = "accepted") -> None:
    job_id = bank.register()
    with bank.store.session() as session:
        for i in range(n):
            session.add(
                Message(
                    idempotency_key=f"{job_id}.{state}.{at:%m}.{i}",
                    job_id=job_id,
                    customer_id=f"C{i}",
                    channel="sms",
                    message_type="INTL_SMS",
                    provider="sim-sms",
                    chain=["sms"],
                    priority=30,
                    recipient="+14155552671",
                    country="US",
                    body="hello",
                    state=state,
                    unit_price=Decimal(price),
                    submitted_at=at,
                    created_at=at,
                    updated_at=at,
                )
            )


def alerts(bank: Any) -> list[dict[str, Any]]:
    with bank.store.session() as session:
        rows = session.scalars(select(AuditLog).where(AuditLog.action == ALERT_ACTION)).all()
        verify_chain(session)
        return [dict(r.detail) for r in rows]


def test_message_cap_admits_up_to_the_cap_and_alerts_once_per_threshold(
    bank: Any, caplog: pytest.LogCaptureFixture
) -> None:
    rules = policy(bank, intl_cap_messages=10)
    sent(bank, 6, "120")
    sent(bank, 3, "120", state="failed")  # not charged, not counted
    sent(bank, 5, "120", at=datetime(2026, 10, 31, 14, 59, tzinfo=UTC))  # October in Korea
    with bank.store.session() as session:
        assert month_usage(session, bank.settings, NOW) == (6, Decimal("720"))
        assert rules.admit(session, 1, Decimal(120), NOW).allowed == 1  # 7 of 10: 70 %
    assert [(a["threshold"], a["messages"]) for a in alerts(bank)] == [(70, 7)]
    with caplog.at_level(logging.WARNING), bank.store.session() as session:
        again = rules.admit(session, 1, Decimal(120), NOW)  # still 70 %: no second alert
    assert again.allowed == 1 and len(alerts(bank)) == 1
    sent(bank, 2, "120")
    with caplog.at_level(logging.WARNING), bank.store.session() as session:
        over = rules.admit(session, 5, Decimal(120), NOW)
    assert (over.allowed, over.refused_code) == (2, E_INTL_CAP)
    assert [a["threshold"] for a in alerts(bank)] == [70, 100]
    assert "international monthly cap 100% reached for 2026-11" in caplog.text
    assert "+1415" not in caplog.text


@pytest.mark.parametrize(("used", "allowed"), [(8, 2), (9, 1), (10, 0), (11, 0)])
def test_krw_cap_counts_the_price(bank: Any, used: int, allowed: int) -> None:
    sent(bank, used, "100")
    rules = policy(bank, intl_cap_krw=1000.0)
    with bank.store.session() as session:
        admission = rules.admit(session, 3, Decimal(100), NOW)
    assert admission.allowed == allowed
    assert admission.refused_code == E_INTL_CAP


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("+1 (415) 555-2671", "+14155552671"), ("+82 10-1234-5678", "01012345678")],
)
def test_customer_master_keeps_a_foreign_mobile_in_e164(raw: str, stored: str) -> None:
    row = {"customer_id": "C1", "changed_at": "2026-11-01T00:00:00+09:00", "phone": raw}
    assert ChangeRow.model_validate(row).phone == stored


@pytest.mark.parametrize("raw", ["+1 555", "+82 2-123-4567"])
def test_customer_master_refuses_what_no_country_can_reach(raw: str) -> None:
    row = {"customer_id": "C1", "changed_at": "2026-11-01T00:00:00+09:00", "phone": raw}
    with pytest.raises(ValidationError, match="phone"):
        ChangeRow.model_validate(row)


def test_a_customer_abroad_gets_an_international_sms_priced_and_in_the_ledger(
    sim_bank: Any, ledger_rows: Any
) -> None:
    bank = sim_bank
    bank.settings = bank.settings.model_copy(
        update={"intl_enabled": True, "intl_countries": "US", "intl_cap_messages": 100}
    )
    bank.add_customer("US1", phone="+14155552671", name="Kim")
    bank.add_customer("GB1", phone="+447400123456", name="Lee")
    bank.add_customer("KR1", phone="01012345678")
    job_id = bank.targeted(routes={"sms": ["sms"]})
    enqueue_job(bank.store, bank.settings, job_id)
    result = asyncio.run(Dispatcher(bank.store, bank.settings).run_job(job_id, 120))
    assert result.terminal
    rows = {m.customer_id: m for m in bank.messages(job_id)}
    us, gb, kr = rows["US1"], rows["GB1"], rows["KR1"]
    assert (us.message_type, us.country, us.recipient) == ("INTL_SMS", "US", "+14155552671")
    assert us.unit_price == Decimal("120") and us.state in ("accepted", "delivered", "failed")
    assert (gb.state, gb.error_code, gb.unit_price) == ("failed", E_INTL_COUNTRY, None)
    assert (kr.message_type, kr.country) == ("SMS", None)
    booked = {r["clientKey"]: r for r in ledger_rows(f"{job_id}.")}
    assert booked[us.idempotency_key]["type"] == "INTL_SMS"
    assert gb.idempotency_key not in booked


def intl_job(purpose: str) -> Job:
    return Job(
        job_id="job-intl",
        name="해외 안내",
        template_id=1,
        template_version=1,
        purpose=purpose,
        priority=40,
        routes={},
        sender_number="15881234",
        department="dept",
        status="targeted",
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize(
    ("purpose", "text", "error"),
    [
        ("informational", "โอนเงินเข้าบัญชีแล้ว", None),  # Thai: not CP949, fine abroad
        ("advertising", "(광고) UMS은행 혜택 안내 무료수신거부 080-123-4567", None),
        ("informational", "a" * 1001, "1,001 bytes in UTF-8"),
    ],
)
def test_compose_sends_a_number_abroad_as_intl_sms_with_its_checks(
    purpose: str, text: str, error: str | None
) -> None:
    customer = Customer(customer_id="C1", name="Somchai", phone="+66812345678")
    row, failed = compose_row(
        intl_job(purpose), ChannelVariant("sms", text), customer, ["sms"], 0, NOW, "2026-11-25"
    )
    assert (row["message_type"], row["country"], row["recipient"]) == (
        "INTL_SMS",
        "TH",
        "+66812345678",
    )
    if error is None:
        assert failed is None and row["state"] == "queued"
    else:
        assert failed is not None and error in failed and row["error_code"] == "E-CHECK"
