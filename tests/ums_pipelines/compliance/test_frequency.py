"""Frequency counts where messages are written: one per message (its first leg) in the
writer's transaction, on the day it may go; a take-over, a fallback leg or the same
request again counts nothing more. A second advertising job the same day is capped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import select, update

from ums_pipelines.channels.windows import KST
from ums_pipelines.compliance.frequency import ALL_CHANNELS, exempt
from ums_pipelines.dispatch.bulk import claim_chunk, materialize_chunk, plan_chunks
from ums_pipelines.dispatch.intake import submit
from ums_pipelines.dispatch.outbox import enqueue_job
from ums_pipelines.dispatch.record import next_legs
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.store.compliance import RecipientDay
from ums_pipelines.store.models import Job, Message
from ums_pipelines.store.sendplane import JobChunk
from ums_pipelines.targets import extract_targets

AD_TEXT = "(광고) UMS은행 {{ name }}님께 드리는 혜택\n무료수신거부 080-123-4567"
AD: dict[str, Any] = {
    "template_code": "ad-sms",
    "variants": (ChannelVariant("sms", AD_TEXT), ChannelVariant("push", AD_TEXT, "(광고)")),
    "purpose": Purpose.ADVERTISING,
    "lane": Lane.MARKETING,
    "variables": ("name",),
    "routes": {"default": ["push", "sms"]},
}
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=KST)
DAY = NOON.date()


def counts(bank: Any) -> dict[tuple[str, date, str], int]:
    with bank.store.session() as session:
        rows = session.execute(
            select(
                RecipientDay.customer_id, RecipientDay.day, RecipientDay.purpose, RecipientDay.count
            ).where(RecipientDay.channel == ALL_CHANNELS)
        )
        return {(c, d, p): n for c, d, p, n in rows}


def split(bank: Any, job_id: str, owner: str = "writer") -> None:
    now = NOON.astimezone(UTC)
    plan_chunks(bank.store, job_id)
    with bank.store.session() as session:
        chunk = claim_chunk(session, job_id, owner, timedelta(minutes=1), now)
    assert chunk is not None
    materialize_chunk(
        bank.store, bank.settings, job_id, chunk, owner, timedelta(minutes=1), now=now
    )


def ad_customers(bank: Any) -> None:
    for cid in ("A1", "A2"):
        bank.add_customer(cid, purpose="ad", preferred="push", push_token=f"tok-{cid}")


def test_a_bulk_split_counts_each_message_once(bank: Any) -> None:
    ad_customers(bank)
    with time_machine.travel(NOON, tick=False):
        job_id = bank.targeted(**AD)
    split(bank, job_id)
    assert counts(bank) == {("A1", DAY, "advertising"): 1, ("A2", DAY, "advertising"): 1}

    # A fallback leg is the same message; a split taken over is not counted again.
    first = next(m for m in bank.messages(job_id) if m.customer_id == "A1")
    with bank.store.session() as session:
        session.execute(update(Message).where(Message.id == first.id).values(state="failed"))
        next_legs(session, bank.settings, [first.id], NOON.astimezone(UTC))
    with bank.store.session() as session:
        session.execute(update(Message).where(Message.job_id == job_id).values(lease_owner=None))
        session.execute(update(JobChunk).values(state="pending"))
    split(bank, job_id, owner="second")
    assert len(bank.messages(job_id)) == 3
    assert counts(bank) == {("A1", DAY, "advertising"): 1, ("A2", DAY, "advertising"): 1}

    # The next advertising job of the day finds both at the daily cap.
    with time_machine.travel(NOON, tick=False):
        result = extract_targets(bank.store, bank.settings, bank.register(**AD))
    assert result.targets == 0 and result.suppressed == {"frequency_cap": 2}


def test_the_one_shot_enqueue_counts_too(bank: Any) -> None:
    ad_customers(bank)
    with time_machine.travel(NOON, tick=False):
        job_id = bank.targeted(**AD)
        enqueue_job(bank.store, bank.settings, job_id)
        enqueue_job(bank.store, bank.settings, job_id)  # nothing new written
    assert counts(bank) == {("A1", DAY, "advertising"): 1, ("A2", DAY, "advertising"): 1}


def test_real_time_requests_count_once_per_request(bank: Any) -> None:
    bank.add_customer("R1")
    job_id = bank.targeted()
    with time_machine.travel(NOON, tick=False):
        for key in ("k1", "k2", "k2"):  # k2 twice: the same request
            submit(
                bank.store,
                bank.settings,
                caller="crm",
                caller_key=key,
                customer_id="R1",
                job_id=job_id,
            )
    assert counts(bank) == {("R1", DAY, "informational"): 2}


def test_urgent_and_auth_are_exempt() -> None:
    job = Job(purpose="informational", priority=int(Lane.INFORMATIONAL))
    assert not exempt(job)
    assert exempt(Job(purpose="informational", priority=int(Lane.URGENT)))
    assert exempt(Job(purpose=Purpose.AUTH.value, priority=int(Lane.AUTH)))
