"""Billing counts delivered rows only, per message type, at the price table's rates."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ums_pipelines.billing import DEFAULT_PRICES_KRW, bill
from ums_pipelines.store.models import Message


def add(bank: Any, job_id: str, n: int, message_type: str, state: str) -> None:
    now = datetime.now(UTC)
    channel = {"SMS": "sms", "LMS": "sms", "ALIMTALK": "alimtalk", "PUSH": "push"}.get(
        message_type, "email"
    )
    with bank.store.session() as session:
        for i in range(n):
            session.add(
                Message(
                    idempotency_key=f"{job_id}.{message_type}.{state}.{i}",
                    job_id=job_id,
                    customer_id=f"C{i}",
                    channel=channel,
                    message_type=message_type,
                    provider="p",
                    chain=[channel],
                    priority=30,
                    recipient="x",
                    body="b",
                    state=state,
                    created_at=now,
                    updated_at=now,
                )
            )


def test_bill_counts_delivered_rows_only(bank: Any) -> None:
    job_id = bank.register()
    other = bank.register("other-job")
    add(bank, job_id, 3, "SMS", "delivered")
    add(bank, job_id, 2, "LMS", "delivered")
    add(bank, job_id, 4, "ALIMTALK", "failed")  # fell back: not charged
    add(bank, job_id, 1, "PUSH", "delivered")
    add(bank, job_id, 2, "EMAIL", "expired")
    add(bank, other, 5, "SMS", "delivered")

    charge = bill(bank.store, job_id)
    assert {t: line.delivered for t, line in charge.lines.items()} == {
        "SMS": 3,
        "LMS": 2,
        "PUSH": 1,
    }
    assert charge.total == Decimal("9.9") * 3 + Decimal("30") * 2
    assert charge.billable == 6 and charge.not_billed == 6
    assert bill(bank.store).lines["SMS"].delivered == 8

    cheap = {**DEFAULT_PRICES_KRW, "LMS": Decimal("25")}
    assert bill(bank.store, job_id, cheap).lines["LMS"].amount == Decimal("50")
    with pytest.raises(KeyError, match="LMS"):
        bill(bank.store, job_id, {"SMS": Decimal(1), "PUSH": Decimal(0)})
