"""Delivery receipts: applied once, failures open the next leg, a delivery never does."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from ums_pipelines.channels.providers import SmsRelayAdapter
from ums_pipelines.dispatch.outbox import SendOutcome, claim, enqueue_job, record_outcomes
from ums_pipelines.dispatch.receipts import apply_receipts, poll_receipts
from ums_pipelines.store.models import DeliveryEvent, Message, Watermark

ROUTES = {"default": ["alimtalk", "sms"]}


def accepted(bank: Any, n: int = 3) -> tuple[str, list[Message]]:
    """A job whose leg-0 AlimTalk rows the provider has accepted."""
    for i in range(n):
        bank.add_customer(f"C{i}", phone=f"010{40000000 + i}")
    job_id = bank.targeted(routes=ROUTES)
    enqueue_job(bank.store, bank.settings, job_id)
    with bank.store.session() as session:
        claimed = claim(session, "alimtalk", "a", 100, timedelta(minutes=5), job_id)
        record_outcomes(
            session,
            bank.settings,
            "a",
            [SendOutcome(c.id, "accepted", provider_message_id=f"P{c.id}") for c in claimed],
        )
    return job_id, bank.messages(job_id)


def receipt(m: Message, status: str, **extra: Any) -> dict[str, Any]:
    return {"clientKey": m.idempotency_key, "stage": "handset", "status": status} | extra


def apply(bank: Any, receipts: list[dict[str, Any]], cursor: int = 1) -> Any:
    return apply_receipts(bank.store, bank.settings, "alimtalk", receipts, cursor)


def handset_events(bank: Any) -> list[tuple[int, str]]:
    with bank.store.session() as session:
        rows = session.execute(
            select(DeliveryEvent.message_id, DeliveryEvent.status)
            .where(DeliveryEvent.stage == "handset")
            .order_by(DeliveryEvent.id)
        )
        return [(int(a), str(b)) for a, b in rows]


def test_delivered_receipt(bank: Any) -> None:
    job_id, (m, *_) = accepted(bank)
    result = apply(bank, [receipt(m, "delivered", at="2024-05-01T09:00:00+09:00")])
    assert (result.fetched, result.applied, result.delivered, result.fell_back) == (1, 1, 1, 0)
    rows = {r.id: r for r in bank.messages(job_id)}
    assert rows[m.id].state == "delivered" and rows[m.id].completed_at is not None
    assert rows[m.id].next_leg_id is None
    assert len(rows) == 3  # no leg 1 for anyone
    assert handset_events(bank) == [(m.id, "delivered")]
    with bank.store.session() as session:
        event = session.scalars(select(DeliveryEvent).where(DeliveryEvent.stage == "handset")).one()
        assert event.occurred_at.isoformat().startswith("2024-05-01")


def test_failure_receipt_on_leg_zero_creates_leg_one_on_the_next_channel(bank: Any) -> None:
    job_id, (m, *_) = accepted(bank)
    result = apply(bank, [receipt(m, "failed", code="3018", reason="not a KakaoTalk user")])
    assert (result.failed, result.fell_back) == (1, 1)
    legs = [r for r in bank.messages(job_id) if r.customer_id == m.customer_id]
    assert [(r.leg, r.channel, r.state) for r in legs] == [
        (0, "alimtalk", "failed"),
        (1, "sms", "queued"),
    ]
    assert (legs[0].error_code, legs[0].error_reason) == ("3018", "not a KakaoTalk user")
    assert legs[0].next_leg_id == legs[1].id and legs[1].parent_id == legs[0].id
    assert legs[1].recipient == legs[0].recipient  # AlimTalk and SMS share the mobile
    assert legs[1].body != legs[0].body  # each leg has its own rendered content
    assert legs[1].message_type == "SMS"


def test_applying_the_same_receipts_twice_is_idempotent(bank: Any) -> None:
    job_id, (a, b, c) = accepted(bank)
    page = [receipt(a, "delivered"), receipt(b, "failed", code="E-HANDSET"), receipt(c, "failed")]
    first = apply(bank, page, cursor=3)
    snapshot = [(r.id, r.state, r.next_leg_id) for r in bank.messages(job_id)]
    events = handset_events(bank)
    second = apply(bank, page, cursor=3)
    assert (first.applied, first.fell_back) == (3, 2)
    assert (second.fetched, second.applied, second.delivered, second.fell_back) == (3, 0, 0, 0)
    assert [(r.id, r.state, r.next_leg_id) for r in bank.messages(job_id)] == snapshot
    assert handset_events(bank) == events
    assert len(snapshot) == 5


def test_duplicate_receipts_in_one_page_count_once(bank: Any) -> None:
    job_id, (m, *_) = accepted(bank)
    result = apply(bank, [receipt(m, "failed"), receipt(m, "failed")])
    assert (result.applied, result.fell_back) == (1, 1)
    assert len(bank.messages(job_id)) == 4


def test_delivered_leg_never_gets_a_next_leg(bank: Any) -> None:
    """A late contradictory receipt is recorded as an event but changes nothing."""
    job_id, (m, *_) = accepted(bank)
    apply(bank, [receipt(m, "delivered")])
    result = apply(bank, [receipt(m, "failed", code="E-HANDSET")])
    assert (result.applied, result.failed, result.fell_back) == (1, 0, 0)
    [row] = [r for r in bank.messages(job_id) if r.customer_id == m.customer_id]
    assert (row.state, row.next_leg_id) == ("delivered", None)


def test_failure_after_failure_does_not_open_a_second_leg(bank: Any) -> None:
    job_id, (m, *_) = accepted(bank)
    apply(bank, [receipt(m, "failed", code="E-HANDSET")])
    apply(bank, [receipt(m, "failed", code="3018")])
    legs = [r for r in bank.messages(job_id) if r.customer_id == m.customer_id]
    assert [r.leg for r in legs] == [0, 1]


def test_receipt_for_a_still_claimed_row_completes_it(bank: Any) -> None:
    """The sender crashed after the provider accepted but before recording: the receipt
    still lands, and the row is no longer claimable."""
    for i in range(2):
        bank.add_customer(f"C{i}")
    job_id = bank.targeted(routes=ROUTES)
    enqueue_job(bank.store, bank.settings, job_id)
    with bank.store.session() as session:
        [c, other] = claim(session, "alimtalk", "dead", 10, timedelta(seconds=-1), job_id)
    m = next(r for r in bank.messages(job_id) if r.id == c.id)
    apply(bank, [receipt(m, "delivered")])
    with bank.store.session() as session:
        again = claim(session, "alimtalk", "b", 10, timedelta(minutes=5), job_id)
    assert [x.id for x in again] == [other.id]  # the expired other lease, not c


def test_unknown_keys_are_counted_and_the_cursor_advances(bank: Any) -> None:
    _, (m, *_) = accepted(bank)
    result = apply(
        bank, [{"clientKey": "someone-else.1", "status": "delivered"}, receipt(m, "delivered")], 42
    )
    assert (result.unknown, result.applied) == (1, 1)
    assert result.per_channel == {"alimtalk": 1}
    apply(bank, [], 43)
    with bank.store.session() as session:
        mark = session.get(Watermark, "receipts:alimtalk")
        assert mark is not None and mark.value == "43"


def test_poll_receipts_from_the_simulator(sim_bank: Any, ledger_summary: Any) -> None:
    bank = sim_bank
    for i in range(6):
        bank.add_customer(f"C{i}", phone=f"010{41000000 + i}")
    job_id = bank.targeted(routes={"default": ["sms"]})
    enqueue_job(bank.store, bank.settings, job_id)

    async def send_and_poll() -> tuple[Any, Any]:
        async with httpx.AsyncClient() as client:
            adapter = SmsRelayAdapter(client, bank.settings.gateway_url, "t")
            with bank.store.session() as session:
                batch = claim(session, "sms", "a", 100, timedelta(minutes=5), job_id)
            outcomes = await adapter.send(batch)
            with bank.store.session() as session:
                record_outcomes(session, bank.settings, "a", outcomes)
            first = await poll_receipts(bank.store, bank.settings, client, ("sms",))
            second = await poll_receipts(bank.store, bank.settings, client, ("sms",))
            return first, second

    first, second = asyncio.run(send_and_poll())
    ledger = ledger_summary(f"{job_id}.")["sms"]
    assert ledger["accepted"] == 6
    rows = bank.messages(job_id)
    # Receipts are due at once in this simulator: every row is terminal after one poll.
    assert sorted(r.state for r in rows) == sorted(
        ["delivered"] * ledger["delivered"] + ["failed"] * ledger["failed"]
    )
    assert (first.delivered, first.failed) == (ledger["delivered"], ledger["failed"])
    assert first.fell_back == 0  # sms is the whole chain
    assert second.applied == 0 and second.delivered == 0
    with bank.store.session() as session:
        # One handset receipt per message; the relay's acceptance is on the row itself.
        assert session.scalar(select(func.count()).select_from(DeliveryEvent)) == 6


@pytest.mark.parametrize(
    ("sqlstate", "retried"), [("40P01", True), ("40001", True), ("57014", False)]
)
def test_a_deadlock_victim_applies_its_page_again_other_errors_raise(
    monkeypatch: pytest.MonkeyPatch, sqlstate: str, retried: bool
) -> None:
    from types import SimpleNamespace

    from sqlalchemy.exc import OperationalError

    from ums_pipelines.dispatch import receipts as module

    calls: list[int] = []

    def apply(*args: object) -> module.ReceiptResult:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("INSERT ...", {}, SimpleNamespace(sqlstate=sqlstate))  # type: ignore[arg-type]
        return module.ReceiptResult(fetched=1)

    monkeypatch.setattr(module, "apply_receipts", apply)
    monkeypatch.setattr(module.time, "sleep", lambda s: None)
    if retried:
        assert module.apply_with_retry(None, None, "sms", [], 7).fetched == 1  # type: ignore[arg-type]
        assert len(calls) == 2
    else:
        with pytest.raises(OperationalError):
            module.apply_with_retry(None, None, "sms", [], 7)  # type: ignore[arg-type]
        assert len(calls) == 1
