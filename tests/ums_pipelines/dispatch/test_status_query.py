"""Status queries: lost receipts and unconfirmed sends are resolved by asking the provider."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from ums_pipelines.channels.providers import SmsRelayAdapter
from ums_pipelines.dispatch.outbox import claim, enqueue_job
from ums_pipelines.dispatch.record import UNCONFIRMED
from ums_pipelines.dispatch.status_query import query_overdue
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Message


def ask(bank: Any, grace: float = 0.0) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient() as client:
            return await query_overdue(
                bank.store, bank.settings, client, grace=timedelta(seconds=grace)
            )

    return asyncio.run(go())


def test_lost_receipts_and_unconfirmed_sends_are_resolved(sim_bank: Any) -> None:
    bank = sim_bank
    for i in range(6):
        bank.add_customer(f"S{i}", phone=f"010{40000000 + i:08d}", email=f"s{i}@example.com")
    job_id = bank.targeted(routes={"sms": ["sms", "email"]})
    enqueue_job(bank.store, bank.settings, job_id)
    with bank.store.session() as session:
        batch = claim(session, "sms", "x", 3, timedelta(minutes=1), job_id)
    sent, never = batch[:2], batch[2:]

    async def send() -> None:
        async with httpx.AsyncClient() as client:
            await SmsRelayAdapter(client, bank.settings.gateway_url, "t").send(sent)

    asyncio.run(send())
    old = utcnow() - timedelta(minutes=5)
    with bank.store.session() as session:
        # Accepted, receipts never polled (lost); the third ran out of retries unsent.
        session.execute(
            update(Message)
            .where(Message.id.in_([c.id for c in sent]))
            .values(state="accepted", submitted_at=old, updated_at=old, lease_owner=None)
        )
        session.execute(
            update(Message)
            .where(Message.id.in_([c.id for c in never]))
            .values(state="accepted", error_code=UNCONFIRMED, updated_at=old, lease_owner=None)
        )
    # Not overdue yet with a long grace: nothing asked.
    assert ask(bank, grace=3600).asked == 0
    found = ask(bank)
    assert found.asked == 3 and found.unknown == 1
    assert found.delivered + found.failed == 2
    by_id = {m.id: m for m in bank.messages(job_id)}
    for c in sent:
        assert by_id[c.id].state in ("delivered", "failed")
    [gone] = never
    assert by_id[gone.id].state == "failed" and by_id[gone.id].submitted_at is None
    # The provider never had it, so its chain goes on: the e-mail leg is queued.
    assert by_id[gone.id].next_leg_id in by_id
    assert by_id[by_id[gone.id].next_leg_id].state == "queued"
    # Nothing left to ask.
    assert ask(bank).asked == 0
