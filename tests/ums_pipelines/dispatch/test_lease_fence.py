"""The fence before a late send (housekeeping.confirm): a dispatcher whose heartbeat was
late sends only the rows still leased to it, and extends their leases."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from ums_pipelines.dispatch import housekeeping as hk
from ums_pipelines.dispatch.claims import claim_rows
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.jobs import SendPlan
from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import Message


def test_only_rows_still_leased_to_the_sender_are_confirmed(sim_bank: Any) -> None:
    bank = sim_bank
    for i in range(4):
        bank.add_customer(f"C{i}")
    job_id = bank.targeted(
        routes={"default": ["sms"], "sms": ["sms"]},
        plan=SendPlan(not_before=utcnow() + timedelta(hours=1)),
    )
    asyncio.run(Dispatcher(bank.store, bank.settings).run_job(job_id, 3))  # rows queued
    with bank.store.session() as session:
        session.execute(update(Message).where(Message.job_id == job_id).values(not_before=None))
    with bank.store.session() as session:
        batch = claim_rows(session, "sms", "late", 10, timedelta(seconds=1), utcnow())
    ids = sorted(c.id for c in batch)
    assert len(ids) == 4
    # Its lease lapsed; another dispatcher reaped one row and claimed it.
    with bank.store.session() as session:
        session.execute(update(Message).where(Message.id == ids[0]).values(lease_owner="other"))
        session.execute(update(Message).where(Message.id == ids[1]).values(state="accepted"))
    before = utcnow()
    kept = hk.confirm(bank.store, ids, "late", timedelta(seconds=30))
    assert kept == set(ids[2:])
    for m in bank.messages(job_id):
        if m.id in kept:
            assert m.lease_expires_at is not None
            assert as_utc(m.lease_expires_at) >= before + timedelta(seconds=29)
    assert hk.confirm(bank.store, [], "late", timedelta(seconds=30)) == set()
