"""Monthly totals per department × channel × provider (Korea-time months): only delivered
rows are billed, failed fallback legs never, test sends apart."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ums_pipelines.settlement import SettlementError, month_bounds, roll_up, settle

# 2026-04-01 00:30 KST is still March in UTC; 2026-03-31 23:59 KST is March in both.
APRIL_KST = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)
MARCH_KST = datetime(2026, 3, 31, 14, 59, tzinfo=UTC)
MID_MARCH = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)


@pytest.fixture
def seeded(bank: Any, job_in: Any, seed_rows: Any) -> Any:
    card, loan = job_in("card"), job_in("loan")
    test_job = job_in("card", "test")
    seed_rows(card, 5, at=MID_MARCH)  # SMS 9.9
    seed_rows(card, 2, at=MARCH_KST, message_type="LMS", unit_price=Decimal(30))
    # An AlimTalk leg that failed and fell back to SMS: the AlimTalk leg costs nothing.
    seed_rows(
        card,
        3,
        at=MID_MARCH,
        channel="alimtalk",
        message_type="ALIMTALK",
        provider="sim-kakao",
        state="failed",
        unit_price=Decimal("7.5"),
    )
    seed_rows(card, 3, at=MID_MARCH, leg=1)
    seed_rows(
        card,
        4,
        at=MID_MARCH,
        channel="alimtalk",
        message_type="ALIMTALK",
        provider="sim-kakao",
        unit_price=None,
    )  # priced from the table: 7.5
    seed_rows(card, 1, at=MID_MARCH, state="expired")
    seed_rows(card, 1, at=MID_MARCH, state="cancelled")
    seed_rows(card, 1, at=MID_MARCH, state="accepted")
    seed_rows(loan, 6, at=MID_MARCH, unit_price=Decimal("8.8"))
    seed_rows(loan, 7, at=APRIL_KST)  # April in Korea
    seed_rows(test_job, 2, at=MID_MARCH)
    return bank


def test_month_bounds_are_korea_time(settings: Any) -> None:
    start, end = month_bounds("2026-03", settings)
    assert start == datetime(2026, 2, 28, 15, tzinfo=UTC)
    assert end == datetime(2026, 3, 31, 15, tzinfo=UTC)
    assert month_bounds("2026-12", settings)[1] == datetime(2026, 12, 31, 15, tzinfo=UTC)
    for bad in ("2026-13", "2026-3", "march"):
        with pytest.raises(SettlementError, match="month"):
            month_bounds(bad, settings)


def test_totals_per_department_channel_provider(seeded: Any) -> None:
    lines = {
        c.key(("department", "channel", "provider", "message_type")): c
        for c in settle(seeded.store, seeded.settings, "2026-03")
    }
    assert set(lines) == {
        ("card", "sms", "sim-sms", "SMS"),
        ("card", "sms", "sim-sms", "LMS"),
        ("card", "alimtalk", "sim-kakao", "ALIMTALK"),
        ("loan", "sms", "sim-sms", "SMS"),
    }
    sms = lines[("card", "sms", "sim-sms", "SMS")]
    # 5 + 3 fallback legs delivered; the test sends apart; expired, cancelled, in flight.
    assert (sms.delivered, sms.amount) == (8, Decimal("9.9") * 8)
    assert (sms.test_delivered, sms.test_amount) == (2, Decimal("19.8"))
    assert (sms.failed, sms.expired, sms.cancelled, sms.other) == (0, 1, 1, 1)
    alim = lines[("card", "alimtalk", "sim-kakao", "ALIMTALK")]
    assert (alim.delivered, alim.amount, alim.failed) == (4, Decimal(30), 3)
    assert lines[("card", "sms", "sim-sms", "LMS")].amount == Decimal(60)
    loan = lines[("loan", "sms", "sim-sms", "SMS")]
    assert (loan.delivered, loan.amount) == (6, Decimal("52.8"))  # April's 7 not here


def test_month_boundary_in_korea_time(seeded: Any) -> None:
    april = settle(seeded.store, seeded.settings, "2026-04")
    assert [(c.department, c.delivered, c.amount) for c in april] == [("loan", 7, Decimal("69.3"))]
    assert settle(seeded.store, seeded.settings, "2026-02") == []


def test_roll_up_by_department_and_provider(seeded: Any) -> None:
    lines = settle(seeded.store, seeded.settings, "2026-03")
    by_dept = {c.department: c for c in roll_up(lines, ["department"])}
    assert by_dept["card"].amount == Decimal("9.9") * 8 + 60 + 30
    assert by_dept["card"].channel == "*" and by_dept["card"].failed == 3
    assert by_dept["loan"].amount == Decimal("52.8")
    by_provider = {c.provider: c.delivered for c in roll_up(lines, ["provider"])}
    assert by_provider == {"sim-kakao": 4, "sim-sms": 16}
    total = roll_up(lines, [])
    assert len(total) == 1 and total[0].test_amount == Decimal("19.8")
    with pytest.raises(SettlementError, match="by: colour"):
        roll_up(lines, ["colour"])
