"""Issue 6, done-when 2, first scenario: an advertising job scheduled at 20:30 that runs
past 21:00 sends to night-consent customers only after 21:00 and holds the rest until
08:00 the next day, when the next run sends them.

The clock moves with time-machine and ticks, so the paced sends cross 21:00 in real
time. The gateway simulator is this test's own: its ledger's clock only ever moves
forward here, and the session's simulator never sees a travelled time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import select

from ums_pipelines.channels.windows import KST
from ums_pipelines.compliance.night import HOLD_CODE
from ums_pipelines.dispatch.runner import Dispatcher, DispatchResult
from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig
from ums_pipelines.jobs import ChannelVariant, SendPlan
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Consent, DeliveryEvent, Job, Message

AD_SMS = ChannelVariant("sms", "(광고) {{ name }}님 혜택 안내\n무료수신거부 080-123-4567")
N = 36
PACE = 2.0  # messages per second: the sends run from 20:59:48 past 21:00


def kst(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2030, 4, day, hour, minute, second, tzinfo=KST)


NINE_PM = kst(10, 21).astimezone(UTC)
MORNING = kst(11, 8).astimezone(UTC)


@pytest.fixture
def own_bank(bank: Any) -> Iterator[Any]:
    """The bank pointed at a simulator of its own: no failures, receipts at once."""
    config = SimConfig(latency_ms=(0, 0), receipt_delay_ms=0, failure_rate=0.0)
    with GatewaySimulator(config) as sim:
        bank.settings = bank.settings.model_copy(
            update={
                "gateway_url": sim.base_url,
                "smtp_port": sim.smtp_port,
                "apns_url": sim.apns_url,
            }
        )
        bank.sim = sim
        yield bank


def run(bank: Any, job_id: str) -> DispatchResult:
    return asyncio.run(Dispatcher(bank.store, bank.settings).run_job(job_id, 120))


def consent(bank: Any, customer_id: str, channel: str) -> None:
    with bank.store.session() as session:
        session.add(
            Consent(
                customer_id=customer_id,
                channel=channel,
                purpose="night_ad",
                granted=True,
                consented_at=datetime.now(UTC),
                source="test",
            )
        )


def customers(bank: Any) -> set[str]:
    """N advertising-consent customers; two in three also consent at night by SMS. Some
    of the others consent at night by push only: that does not cover an SMS."""
    night = set()
    for i in range(N):
        cid = f"A{i:03d}"
        bank.add_customer(cid, phone=f"010{60000000 + i:08d}", purpose="ad", name=f"고객{i}")
        if i % 3 != 2:
            consent(bank, cid, "sms")
            night.add(cid)
        elif i % 2:
            consent(bank, cid, "push")
    return night


def ledger_keys(bank: Any, job_id: str) -> Counter[str]:
    response = httpx.get(
        f"{bank.sim.base_url}/ledger/v1/messages",
        params={"keyPrefix": f"{job_id}.", "after": 0, "limit": 5000},
        timeout=10,
    )
    response.raise_for_status()
    return Counter(r["clientKey"] for r in response.json()["messages"])


def held_events(bank: Any, job_id: str) -> set[int]:
    with bank.store.session() as session:
        return set(
            session.scalars(
                select(DeliveryEvent.message_id)
                .join(Message, Message.id == DeliveryEvent.message_id)
                .where(Message.job_id == job_id, DeliveryEvent.code == HOLD_CODE)
            )
        )


def sent_at(m: Message) -> datetime | None:
    return as_utc(m.submitted_at) if m.submitted_at is not None else None


def test_advertising_past_nine_pm_holds_those_without_night_consent_until_eight(
    own_bank: Any,
) -> None:
    bank = own_bank
    with time_machine.travel(kst(10, 20, 29, 30), tick=True) as clock:
        night = customers(bank)
        plan = SendPlan(
            not_before=kst(10, 20, 30).astimezone(UTC),  # scheduled at 20:30
            must_end_by=kst(11, 12, 0).astimezone(UTC),
            pace_per_s=PACE,
            chunk_size=6,  # later splits are written after the ban begins
        )
        job_id = bank.targeted(
            template_code="ad-evening",
            variants=(AD_SMS,),
            routes={"sms": ["sms"]},
            purpose=Purpose.ADVERTISING,
            lane=Lane.MARKETING,
            variables=("name",),
            plan=plan,
        )
        # The job has been sending since 20:30; these are its last seconds before 21:00.
        clock.move_to(kst(10, 20, 59, 48))
        first = run(bank, job_id)

        rows = bank.messages(job_id)
        assert len(rows) == N
        # Everything left waits for the morning: the run returns, the job is not done.
        assert first.status == "held" and not first.terminal
        waiting = [m for m in rows if m.state == "queued"]
        assert first.held == len(waiting) > 0
        with bank.store.session() as session:
            job = session.get(Job, job_id)
            assert job is not None and job.status != "done"

        late = [m for m in rows if (t := sent_at(m)) is not None and t >= NINE_PM]
        assert late, "the paced job must have sent past 21:00"
        assert {m.customer_id for m in late} <= night
        assert all(m.submitted_at is not None for m in rows if m.customer_id in night)
        ledger = ledger_keys(bank, job_id)
        for m in rows:
            if m.customer_id in night:
                continue
            t = sent_at(m)
            if t is not None:
                assert t < NINE_PM
                continue
            assert m.state == "queued" and m.not_before is not None
            assert as_utc(m.not_before) == MORNING
            assert m.idempotency_key not in ledger
        assert {m.id for m in waiting} == held_events(bank, job_id)
        assert all(n == 1 for n in ledger.values())

        # Still night: another run finds only held rows and returns without a send.
        clock.move_to(kst(10, 23, 30))
        again = run(bank, job_id)
        assert again.status == "held" and again.held == len(waiting)
        assert not again.submitted

        # 08:00 the next morning: the held ones go, once each.
        clock.move_to(kst(11, 8, 0, 5))
        second = run(bank, job_id)
        assert second.status == "done" and second.terminal
        rows = bank.messages(job_id)
        assert {m.state for m in rows} == {"delivered"}
        by_id = {m.id: m for m in rows}
        for m in waiting:
            t = sent_at(by_id[m.id])
            assert t is not None and t >= MORNING
        ledger = ledger_keys(bank, job_id)
        assert set(ledger) == {m.idempotency_key for m in rows}
        assert all(n == 1 for n in ledger.values())


def test_an_informational_job_goes_at_night(own_bank: Any) -> None:
    bank = own_bank
    with time_machine.travel(kst(10, 23, 0), tick=True):
        for i in range(8):
            bank.add_customer(f"I{i:03d}", phone=f"010{70000000 + i:08d}")
        job_id = bank.targeted(routes={"sms": ["sms"]})
        result = run(bank, job_id)
        assert result.status == "done" and result.held == 0
        rows = bank.messages(job_id)
        assert {m.state for m in rows} == {"delivered"}
        assert all((t := sent_at(m)) is not None and t > kst(10, 23, 0) for m in rows)
        assert not held_events(bank, job_id)
        assert sum(ledger_keys(bank, job_id).values()) == 8
