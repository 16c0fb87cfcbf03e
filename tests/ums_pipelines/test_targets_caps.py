"""Target extraction: frequency caps per purpose (day and rolling week, across channels,
urgent and authentication exempt) and duplicate recipients; the counts add up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from ums_pipelines.channels.windows import KST
from ums_pipelines.compliance import frequency
from ums_pipelines.jobs import ChannelVariant, SendPlan
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.store.compliance import RecipientDay
from ums_pipelines.store.models import Customer, Job
from ums_pipelines.targets import extract_targets, read_targets

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=KST)
DAY = NOON.date()
AD_TEXT = "(광고) UMS은행 {{ name }}님께 드리는 혜택\n무료수신거부 080-123-4567"
INFO = {"purpose": Purpose.INFORMATIONAL, "routes": {"default": ["sms"]}}
AD = {
    "template_code": "ad-notice",
    "variants": (ChannelVariant("sms", AD_TEXT),),
    "variables": ("name",),
    "purpose": Purpose.ADVERTISING,
    "lane": Lane.MARKETING,
    "routes": {"default": ["sms"]},
}
AUTH = {
    "template_code": "otp",
    "variants": (ChannelVariant("sms", "[UMS은행] {{ name }}님 인증번호 안내"),),
    "variables": ("name",),
    "purpose": Purpose.AUTH,
    "lane": Lane.AUTH,
    "routes": {"default": ["sms"]},
}


def sent(bank: Any, customer_id: str, day: date, count: int, **kw: str) -> None:
    """``count`` messages of the purpose already written for the customer on ``day``."""
    with bank.store.session() as session:
        session.add(
            RecipientDay(
                customer_id=customer_id,
                day=day,
                channel=kw.get("channel", frequency.ALL_CHANNELS),
                purpose=kw.get("purpose", "advertising"),
                count=count,
            )
        )


def targets(bank: Any, job_id: str) -> set[str]:
    return set(read_targets(bank.settings, job_id)["customer_id"].to_list())


def adds_up(bank: Any, result: Any) -> None:
    with bank.store.session() as session:
        everyone = len(session.scalars(select(Customer.customer_id)).all())
    assert result.targets + sum(result.suppressed.values()) == everyone


def test_advertising_caps_by_day_and_rolling_week(bank: Any) -> None:
    for cid in ("today", "two-this-week", "three-this-week", "three-one-old", "info", "brand"):
        bank.add_customer(cid, purpose="ad")
    sent(bank, "today", DAY, 1)
    sent(bank, "two-this-week", DAY - timedelta(days=1), 2)
    sent(bank, "three-this-week", DAY - timedelta(days=6), 1)
    sent(bank, "three-this-week", DAY - timedelta(days=2), 2)
    sent(bank, "three-one-old", DAY - timedelta(days=7), 1)  # outside the 7 days
    sent(bank, "three-one-old", DAY - timedelta(days=1), 2)
    sent(bank, "info", DAY, 5, purpose="informational")  # another purpose's count
    sent(bank, "brand", DAY, 1, channel="brand")  # the brand limit's own row

    with time_machine.travel(NOON, tick=False):
        job_id = bank.register(**AD)
        result = extract_targets(bank.store, bank.settings, job_id)

    assert result.suppressed == {"frequency_cap": 2}
    assert targets(bank, job_id) == {"two-this-week", "three-one-old", "info", "brand"}
    adds_up(bank, result)


@pytest.mark.parametrize(
    ("job", "day_caps", "capped"),
    [
        (INFO, {}, False),  # informational: no cap by default
        (INFO, {"informational": 2}, True),
        (INFO, {"informational": None}, False),  # null: no cap
        (INFO | {"lane": Lane.URGENT}, {"informational": 2}, False),  # urgent: exempt
        (AD, {"advertising": 3}, False),
        (AD, {"advertising": 0}, True),  # 0: none of that purpose at all
        (AUTH, {"informational": 0, "advertising": 0}, False),  # auth: never capped
    ],
)
def test_caps_per_purpose_and_exemptions(
    bank: Any, job: dict[str, Any], day_caps: dict[str, int | None], capped: bool
) -> None:
    bank.settings.freq_cap_day = day_caps
    bank.settings.freq_cap_week = {}
    purpose = job["purpose"].value
    bank.add_customer("C1", purpose=Purpose(purpose).consent_key)
    sent(bank, "C1", DAY, 2, purpose=purpose)

    with time_machine.travel(NOON, tick=False):
        result = extract_targets(bank.store, bank.settings, bank.register(**job))

    assert result.suppressed == ({"frequency_cap": 1} if capped else {})
    assert result.targets == (0 if capped else 1)


def test_a_later_start_counts_the_day_it_sends(bank: Any) -> None:
    bank.add_customer("C1", purpose="ad")
    sent(bank, "C1", DAY, 1)  # today's one ad: tomorrow's day cap is free, the week not
    plan = SendPlan(not_before=(NOON + timedelta(days=1)).astimezone(UTC))
    with time_machine.travel(NOON, tick=False):
        result = extract_targets(bank.store, bank.settings, bank.register(**AD, plan=plan))
    assert result.targets == 1
    bank.settings.freq_cap_week = {"advertising": 1}
    with time_machine.travel(NOON, tick=False):
        again = extract_targets(bank.store, bank.settings, bank.register(**AD, plan=plan))
    assert again.suppressed == {"frequency_cap": 1}


def test_count_rows_counts_each_message_once_per_day(store: Any, settings: Any) -> None:
    now = NOON.astimezone(UTC)
    night = (NOON + timedelta(hours=20)).astimezone(UTC)  # held to the next morning

    def row(key: str, cid: str, **kw: Any) -> dict[str, Any]:
        return {"idempotency_key": key, "job_id": "J", "customer_id": cid, "state": "queued"} | kw

    rows = [
        row("k1", "A"),
        row("k2", "A"),  # a second job's message the same day: two
        row("k3", "B", not_before=night),
        row("k4", "C", leg=1),  # a fallback leg: the same message
        row("k5", "D", state="cancelled"),
        row("k6", "E", send_round=1),  # a resend round: the same message
        row("k7", "F", state="failed"),  # chains on to its next channel
    ]
    with store.session() as session:
        assert frequency.count_rows(session, settings, rows, {"J": "advertising"}, now) == 4
    with store.session() as session:
        frequency.count_rows(session, settings, rows[:1], {"J": "advertising"}, now)
        got = {
            (r.customer_id, r.day, r.channel, r.purpose): r.count
            for r in session.scalars(select(RecipientDay))
        }
    assert got == {
        ("A", DAY, "*", "advertising"): 3,
        ("B", DAY + timedelta(days=1), "*", "advertising"): 1,
        ("F", DAY, "*", "advertising"): 1,
    }


PHONES = ("010-7777-8888", "01077778888", "+82 10-7777-8888")


def test_duplicate_recipients_are_suppressed_after_the_first(bank: Any) -> None:
    for i, phone in enumerate(PHONES):
        bank.add_customer(f"P{i}", phone=phone)
    # SMS and AlimTalk reach the same handset.
    bank.add_customer("P9", phone="01077778888", preferred="alimtalk")
    bank.add_customer("E1", preferred="email", email="Family@Example.com")
    bank.add_customer("E2", preferred="email", email="family@example.com ")
    bank.add_customer("E3", preferred="email", email="other@example.com")
    bank.add_customer("Q1", phone="01011112222")
    routes = {"email": ["email", "sms"], "alimtalk": ["alimtalk", "sms"], "default": ["sms"]}

    result = extract_targets(bank.store, bank.settings, bank.register(routes=routes))

    assert result.suppressed == {"duplicate_recipient": 4}
    assert targets(bank, result.job_id) == {"P0", "E1", "E3", "Q1"}
    adds_up(bank, result)


def test_duplicates_kept_when_off_and_the_stage_check_warns(bank: Any) -> None:
    bank.settings.suppress_duplicate_recipients = False
    for i, phone in enumerate(PHONES):
        bank.add_customer(f"P{i}", phone=phone)
    result = extract_targets(bank.store, bank.settings, bank.register(**INFO))
    assert result.targets == 3 and result.suppressed == {}
    with bank.store.session() as session:
        job = session.get(Job, result.job_id)
        assert job is not None
        assert [f["check"] for f in job.anomalies or []] == ["duplicate_recipients"]


def test_every_reason_adds_up(bank: Any) -> None:
    bank.add_customer("ok", purpose="ad")
    bank.add_customer("dead", purpose="ad", deceased=True)
    bank.add_customer("none", consents=())
    bank.add_customer("no-phone", purpose="ad", phone=None)
    bank.add_customer("capped", purpose="ad")
    bank.add_customer("twin", purpose="ad", phone="01099990000")
    bank.add_customer("twin2", purpose="ad", phone="010-9999-0000")
    sent(bank, "capped", DAY, 1)
    with time_machine.travel(NOON, tick=False):
        result = extract_targets(bank.store, bank.settings, bank.register(**AD))
    assert result.suppressed == {
        "deceased": 1,
        "no_consent": 1,
        "no_contact": 1,
        "frequency_cap": 1,
        "duplicate_recipient": 1,
    }
    assert targets(bank, result.job_id) == {"ok", "twin"}
    adds_up(bank, result)
