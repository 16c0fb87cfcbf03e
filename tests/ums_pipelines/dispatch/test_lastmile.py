"""The last mile of suppression (dispatch/lastmile.py): a withdrawal, an opt-out or a
death that arrives after a job's targets were frozen stops every message not yet sent.

Issue 7, done-when 1: a change file arriving in the inbox while a job is running stops
the customer's queued messages of that job (and those a sender already holds) at once,
well within 60 seconds; the rest of the job is sent as usual.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from ums_pipelines.customers import sync_inbox
from ums_pipelines.customers.optouts import OptOutScope, record_opt_out
from ums_pipelines.dispatch import lastmile
from ums_pipelines.dispatch.claims import claim_rows
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig
from ums_pipelines.jobs import SendPlan
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Consent, Customer, Message

SMS_ONLY = {"default": ["sms"], "sms": ["sms"]}


@pytest.fixture
def clean_bank(bank: Any) -> Iterator[Any]:
    """The bank on a simulator of its own that never fails a message: what is sent or
    stopped here is decided by the stops alone."""
    config = SimConfig(latency_ms=(0, 0), receipt_delay_ms=0, failure_rate=0.0)
    with GatewaySimulator(config) as sim:
        bank.settings = bank.settings.model_copy(
            update={"gateway_url": sim.base_url, "smtp_port": sim.smtp_port}
        )
        yield bank


def withdraw(bank: Any, customer_id: str, channel: str = "sms", purpose: str = "info") -> None:
    with bank.store.session() as session:
        session.execute(
            update(Consent)
            .where(
                Consent.customer_id == customer_id,
                Consent.channel == channel,
                Consent.purpose == purpose,
            )
            .values(granted=False, consented_at=datetime.now(UTC))
        )


def states(bank: Any, job_id: str) -> dict[str, tuple[str, str | None]]:
    return {m.customer_id: (m.state, m.error_code) for m in bank.messages(job_id)}


@pytest.mark.parametrize(
    ("change", "channel", "purpose", "reason"),
    [
        ("deceased", "sms", "informational", "customer is deceased"),
        ("withdraw sms info", "sms", "informational", "consent withdrawn (sms, informational)"),
        ("withdraw sms info", "sms", "auth", "consent withdrawn (sms, auth)"),
        ("withdraw sms info", "email", "informational", None),
        ("withdraw sms ad", "sms", "informational", None),
        ("withdraw sms ad", "sms", "advertising", "consent withdrawn (sms, advertising)"),
        ("opt out all", "push", "advertising", "opted out (push, advertising)"),
        ("opt out sms ad", "sms", "advertising", "opted out (sms, advertising)"),
        ("opt out sms ad", "sms", "informational", None),
        ("opt out sms ad", "email", "advertising", None),
        ("nothing", "sms", "advertising", None),
    ],
)
def test_what_stops_a_message(
    bank: Any, change: str, channel: str, purpose: str, reason: str | None
) -> None:
    bank.add_customer("C1")
    bank.add_customer("C1X", purpose="ad")
    with bank.store.session() as session:
        if change == "deceased":
            session.get(Customer, "C1").deceased = True
        elif change.startswith("opt out"):
            scope = OptOutScope() if change == "opt out all" else OptOutScope("sms", "advertising")
            now = utcnow()
            record_opt_out(
                session, "C1", scope, source="test", reference=None, reason="t", at=now, now=now
            )
    if change.startswith("withdraw"):
        _, ch, key = change.split()
        with bank.store.session() as session:
            session.merge(
                Consent(
                    customer_id="C1",
                    channel=ch,
                    purpose=key,
                    granted=False,
                    consented_at=utcnow(),
                    source="test",
                )
            )
    with bank.store.session() as session:
        rows = [(7, "C1", channel, purpose), (8, "C1X", channel, purpose)]
        found = lastmile.stopped(session, rows)
    assert found == ({7: reason} if reason else {})


def test_a_change_cancels_queued_and_held_rows_of_open_jobs_only(clean_bank: Any) -> None:
    bank = clean_bank
    for cid in ("C1", "C2"):
        bank.add_customer(cid)
    job_id = bank.targeted(routes=SMS_ONLY)
    asyncio.run(Dispatcher(bank.store, bank.settings).run_job(job_id, 60))
    done = states(bank, job_id)
    assert {s for s, _ in done.values()} <= {"accepted", "delivered"}
    # A job whose window opens in an hour: its rows are written queued and wait.
    later = bank.targeted(routes=SMS_ONLY, plan=SendPlan(not_before=utcnow() + timedelta(hours=1)))
    asyncio.run(Dispatcher(bank.store, bank.settings).run_job(later, 3))
    assert {s for s, _ in states(bank, later).values()} == {"queued"}
    with bank.store.reading() as session:
        assert lastmile.last_stop_at(session) is None
    withdraw(bank, "C1")
    with bank.store.session() as session:
        n = lastmile.stop_for_customers(session, ["C1", "C2"])
    assert n == 1
    assert states(bank, later)["C1"] == ("cancelled", lastmile.CODE)
    assert states(bank, later)["C2"] == ("queued", None)
    assert states(bank, job_id) == done  # sent messages are history, never touched
    with bank.store.reading() as session:
        assert lastmile.last_stop_at(session) is not None


def test_a_sender_drops_stopped_rows_it_already_holds(clean_bank: Any) -> None:
    bank = clean_bank
    for cid in ("C1", "C2", "C3"):
        bank.add_customer(cid)
    later = bank.targeted(routes=SMS_ONLY, plan=SendPlan(not_before=utcnow() + timedelta(hours=1)))
    asyncio.run(Dispatcher(bank.store, bank.settings).run_job(later, 3))
    with bank.store.session() as session:
        session.execute(update(Message).where(Message.job_id == later).values(not_before=None))
    with bank.store.session() as session:
        batch = claim_rows(session, "sms", "sender-1", 10, timedelta(seconds=60), utcnow())
    assert len(batch) == 3
    screen = lastmile.StopScreen(bank.store, "sender-1", poll_s=0.0)
    screen.poll()
    assert not screen.due(utcnow())  # no stop yet: batches pass unchecked
    withdraw(bank, "C2")
    with bank.store.session() as session:
        assert lastmile.stop_for_customers(session, ["C2"]) == 0  # claimed: not the sync's
    screen.poll()
    assert screen.due(utcnow())
    assert not screen.due(utcnow() + timedelta(hours=1))  # an old stop checks nothing
    kept = screen(batch)
    ids = {m.customer_id: m.id for m in bank.messages(later)}
    assert sorted(c.id for c in kept) == sorted([ids["C1"], ids["C3"]])
    assert states(bank, later)["C2"] == ("cancelled", lastmile.CODE)
    # Another sender's lease is not this screen's to cancel.
    withdraw(bank, "C3")
    other = lastmile.StopScreen(bank.store, "sender-2", poll_s=0.0)
    other.poll()
    assert [c.id for c in other([b for b in batch if b.id == ids["C3"]])] == []
    assert states(bank, later)["C3"] == ("claimed", None)


def test_withdrawal_after_targeting_stops_the_split_and_the_fallback(clean_bank: Any) -> None:
    bank = clean_bank
    for cid in ("C1", "C2"):
        bank.add_customer(cid, email="c@example.com")
    job_id = bank.targeted(routes={"default": ["sms", "email"], "sms": ["sms", "email"]})
    withdraw(bank, "C1")
    with bank.store.session() as session:
        lastmile.stop_for_customers(session, ["C1"])  # nothing queued yet: only the stamp
    asyncio.run(Dispatcher(bank.store, bank.settings).run_job(job_id, 60))
    got = states(bank, job_id)
    assert got["C1"] == ("cancelled", lastmile.CODE)
    assert got["C2"][0] in ("accepted", "delivered")
    # The next leg of a failed message is checked as it is written.
    from ums_pipelines.dispatch.record import next_legs

    first = {m.customer_id: m for m in bank.messages(job_id)}["C2"]
    withdraw(bank, "C2", channel="email")
    with bank.store.session() as session:
        lastmile.stop_for_customers(session, ["C2"])
        session.execute(update(Message).where(Message.id == first.id).values(state="failed"))
        created = next_legs(session, bank.settings, [first.id], utcnow())
    assert len(created) == 1
    with bank.store.reading() as session:
        leg = session.get(Message, created[0])
        assert leg is not None
        assert (leg.channel, leg.state, leg.error_code) == ("email", "cancelled", lastmile.CODE)


CHANGE_HEADER = "customer_id,changed_at,deceased,consent_sms_info\n"


def test_a_change_file_stops_a_running_job_within_seconds(clean_bank: Any) -> None:
    """Done-when 1: the file lands while the job sends at 10 per second; after the sync
    that applies it, nothing more goes to the two customers, and the rest is sent."""
    bank = clean_bank
    ids = [f"C{i:03d}" for i in range(40)]
    for i, cid in enumerate(ids):
        bank.add_customer(cid, phone=f"010{30000000 + i:08d}")
    job_id = bank.targeted(routes=SMS_ONLY, plan=SendPlan(pace_per_s=10.0, chunk_size=10))
    result: dict[str, Any] = {}

    def run() -> None:
        result["r"] = asyncio.run(Dispatcher(bank.store, bank.settings).run_job(job_id, 120))

    sender = threading.Thread(target=run)
    sender.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until the job is under way
        if sum(s in ("accepted", "delivered") for s, _ in states(bank, job_id).values()) >= 5:
            break
        time.sleep(0.05)
    inbox = bank.settings.customer_inbox
    inbox.mkdir(parents=True, exist_ok=True)
    changed = (datetime.now(UTC) + timedelta(seconds=2)).isoformat(timespec="seconds")
    (inbox / "withdrawals.csv").write_text(
        CHANGE_HEADER + f"C038,{changed},N,N\nC039,{changed},Y,\n", encoding="utf-8"
    )
    landed = time.monotonic()
    report = sync_inbox(bank.store, bank.settings)
    stopped_after = time.monotonic() - landed
    sender.join(120)
    assert not sender.is_alive()
    assert report.files[0].rows_applied == 2
    got = states(bank, job_id)
    assert got["C038"] == ("cancelled", lastmile.CODE)
    assert got["C039"] == ("cancelled", lastmile.CODE)
    assert all(got[c][0] in ("accepted", "delivered") for c in ids[:38])
    assert stopped_after < 60
