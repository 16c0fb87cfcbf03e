"""Seeding for settlement tests: outbox rows written directly, with the state, provider,
price and send time each test needs (no send loop: these tests are about counting)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from ums_pipelines.store.models import Job, Message

Seed = Callable[..., list[str]]


@pytest.fixture
def job_in(bank: Any) -> Callable[[str, str], str]:
    """job_in("card", "approved") -> a registered job of that department and status."""

    def _job(department: str, status: str = "done") -> str:
        job_id = bank.register(f"{department}-{status}")
        with bank.store.session() as session:
            session.execute(
                update(Job).where(Job.job_id == job_id).values(department=department, status=status)
            )
        return job_id

    return _job


@pytest.fixture
def seed_rows(bank: Any) -> Seed:
    """seed_rows(job, n, at=..., ...) -> the rows' provider message ids."""
    counter = iter(range(1_000_000))

    def _seed(
        job_id: str,
        n: int,
        *,
        at: datetime,
        channel: str = "sms",
        message_type: str = "SMS",
        provider: str = "sim-sms",
        state: str = "delivered",
        unit_price: Decimal | None = Decimal("9.9"),
        leg: int = 0,
    ) -> list[str]:
        ids = []
        with bank.store.session() as session:
            for _ in range(n):
                i = next(counter)
                pmid = f"P{i:06d}"
                ids.append(pmid)
                session.add(
                    Message(
                        idempotency_key=f"{job_id}.{i}",
                        job_id=job_id,
                        customer_id=f"C{i}",
                        channel=channel,
                        message_type=message_type,
                        provider=provider,
                        leg=leg,
                        chain=[channel],
                        priority=30,
                        recipient="x",
                        body="b",
                        state=state,
                        unit_price=unit_price,
                        provider_message_id=pmid,
                        created_at=at,
                        updated_at=at,
                        submitted_at=at,
                        completed_at=at,
                    )
                )
        return ids

    return _seed
