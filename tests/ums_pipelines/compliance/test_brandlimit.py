"""The brand message's daily limit: counted atomically where rows are written (bulk
splits, fallback legs, real-time requests); one over the limit fails and chains on."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import select, update

from ums_pipelines.channels.payload import Payload
from ums_pipelines.channels.windows import KST
from ums_pipelines.compliance.brandlimit import LIMIT_CODE, take_days
from ums_pipelines.dispatch.bulk import claim_chunk, materialize_chunk, plan_chunks
from ums_pipelines.dispatch.intake import submit
from ums_pipelines.dispatch.record import next_legs
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.store.compliance import RecipientDay
from ums_pipelines.store.models import Message
from ums_pipelines.store.sendplane import JobChunk

AD_TEXT = "(광고) UMS은행 {{ name }}님께 드리는 혜택\n무료수신거부 080-123-4567"
VARIANTS = (
    ChannelVariant("brand", AD_TEXT, payload=Payload(kakao_type="TEXT")),
    ChannelVariant("friendtalk", AD_TEXT, payload=Payload(kakao_type="TEXT")),
    ChannelVariant("sms", AD_TEXT),
)
AD: dict[str, Any] = {
    "template_code": "ad-brand",
    "variants": VARIANTS,
    "purpose": Purpose.ADVERTISING,
    "lane": Lane.MARKETING,
    "variables": ("name",),
    "routes": {"default": ["brand", "sms"]},
}
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=KST)
DAY = NOON.date()


def counts(bank: Any) -> dict[tuple[str, date], int]:
    with bank.store.session() as session:
        # The brand channel's counts (the frequency caps count under channel "*").
        rows = session.execute(
            select(RecipientDay.customer_id, RecipientDay.day, RecipientDay.count).where(
                RecipientDay.channel == "brand"
            )
        )
        return {(c, d): n for c, d, n in rows}


def used_up(bank: Any, customer_id: str, day: date = DAY) -> None:
    with bank.store.session() as session:
        session.add(
            RecipientDay(
                customer_id=customer_id, day=day, channel="brand", purpose="advertising", count=1
            )
        )


def test_take_days_counts_up_to_the_limit(store: Any, settings: Any) -> None:
    a, b = ("A", DAY, "advertising"), ("B", DAY, "advertising")
    tomorrow = ("A", DAY + timedelta(days=1), "advertising")
    with store.session() as session:
        assert take_days(session, settings, [a, b]) == [True, True]
        assert take_days(session, settings, [a, tomorrow]) == [False, True]
    settings.brand_daily_limit = 3
    with store.session() as session:
        # The same customer-day twice in one call takes two counts.
        assert take_days(session, settings, [a, a, a]) == [True, True, False]
    settings.brand_daily_limit = 0
    with store.session() as session:
        assert take_days(session, settings, [b]) == [False]


def test_parallel_writers_never_pass_the_limit(store: Any, settings: Any) -> None:
    want = [("P", DAY, "advertising")]
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def writer() -> None:
        start.wait()
        with store.session() as session:
            [ok] = take_days(session, settings, want)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    with store.session() as session:
        assert session.scalar(select(RecipientDay.count)) == 1


def _split(bank: Any, job_id: str, owner: str = "writer") -> list[Any]:
    now = NOON.astimezone(UTC)
    plan_chunks(bank.store, job_id)
    with bank.store.session() as session:
        chunk = claim_chunk(session, job_id, owner, timedelta(minutes=1), now)
    assert chunk is not None
    return materialize_chunk(
        bank.store, bank.settings, job_id, chunk, owner, timedelta(minutes=1), now=now
    )


def test_a_bulk_split_sends_one_brand_message_a_day_and_chains_the_rest(bank: Any) -> None:
    for cid in ("B1", "B2"):
        bank.add_customer(cid, purpose="ad")
    used_up(bank, "B1")
    job_id = bank.targeted(**AD)

    claimed = _split(bank, job_id)

    rows = bank.messages(job_id)
    by = {(m.customer_id, m.leg): m for m in rows}
    assert (by["B1", 0].state, by["B1", 0].error_code) == ("failed", LIMIT_CODE)
    assert by["B1", 0].next_leg_id == by["B1", 1].id
    assert (by["B1", 1].channel, by["B1", 1].state) == ("sms", "queued")
    assert (by["B2", 0].channel, by["B2", 0].state) == ("brand", "claimed")
    assert [c.id for c in claimed] == [by["B2", 0].id]
    assert counts(bank) == {("B1", DAY): 1, ("B2", DAY): 1}

    # The chunk taken over and written again: nothing is counted or written twice.
    with bank.store.session() as session:
        session.execute(update(Message).where(Message.job_id == job_id).values(lease_owner=None))
    with bank.store.session() as session:
        session.execute(update(JobChunk).values(state="pending"))
    _split(bank, job_id, owner="second")
    assert counts(bank) == {("B1", DAY): 1, ("B2", DAY): 1}
    assert len(bank.messages(job_id)) == 3


def test_a_fallback_leg_onto_brand_is_counted_too(bank: Any) -> None:
    bank.add_customer("F1", purpose="ad")
    used_up(bank, "F1")
    job_id = bank.targeted(**{**AD, "routes": {"default": ["friendtalk", "brand", "sms"]}})
    _split(bank, job_id)
    [first] = bank.messages(job_id)
    with bank.store.session() as session:
        session.execute(update(Message).where(Message.id == first.id).values(state="failed"))
        next_legs(session, bank.settings, [first.id], NOON.astimezone(UTC))
    legs = {m.leg: m for m in bank.messages(job_id)}
    assert (legs[1].channel, legs[1].state, legs[1].error_code) == ("brand", "failed", LIMIT_CODE)
    assert (legs[2].channel, legs[2].state) == ("sms", "queued")


def test_real_time_brand_twice_a_day_goes_by_sms_the_second_time(bank: Any) -> None:
    bank.add_customer("R1", purpose="ad")
    job_id = bank.targeted(**AD)
    with time_machine.travel(NOON, tick=False):
        first = submit(
            bank.store,
            bank.settings,
            caller="crm",
            caller_key="k1",
            customer_id="R1",
            job_id=job_id,
        )
        second = submit(
            bank.store,
            bank.settings,
            caller="crm",
            caller_key="k2",
            customer_id="R1",
            job_id=job_id,
        )
        again = submit(
            bank.store,
            bank.settings,
            caller="crm",
            caller_key="k2",
            customer_id="R1",
            job_id=job_id,
        )
    assert first.state == second.state == "queued" and not again.created
    with bank.store.session() as session:
        one = session.get(Message, first.message_id)
        two = session.get(Message, second.message_id)
        assert one is not None and two is not None
        assert (one.channel, one.state) == ("brand", "queued")
        assert (two.channel, two.state, two.error_code) == ("brand", "failed", LIMIT_CODE)
        nxt = session.get(Message, two.next_leg_id)
        assert nxt is not None and (nxt.channel, nxt.state) == ("sms", "queued")
    assert counts(bank) == {("R1", DAY): 1}
    # The next Korea-time day has room again.
    with time_machine.travel(NOON + timedelta(days=1), tick=False):
        third = submit(
            bank.store,
            bank.settings,
            caller="crm",
            caller_key="k3",
            customer_id="R1",
            job_id=job_id,
        )
    with bank.store.session() as session:
        three = session.get(Message, third.message_id)
        assert three is not None and (three.channel, three.state) == ("brand", "queued")
