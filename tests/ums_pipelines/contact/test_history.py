"""Contact history: chains folded into one contact, the sender's kind, and the
customer's responses (opened, clicked, replied, opted out) tied to the right contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from ums_pipelines.contact.history import (
    contact_history,
    customers_by_phone,
    phone_spellings,
)
from ums_pipelines.store.contact import MoMessage, OptOut
from ums_pipelines.store.content import LinkClick, ShortLink
from ums_pipelines.store.models import Customer, DeliveryEvent, Job, Message, Template
from ums_pipelines.store.sendplane import SendRequest

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
SHARED = "01011112222"


def customer(session: Any, customer_id: str, phone: str) -> None:
    session.add(
        Customer(
            customer_id=customer_id, name="김민수", phone=phone, source_changed_at=T0, updated_at=T0
        )
    )


def job(session: Any, job_id: str, status: str, template_id: int, purpose: str) -> None:
    session.add(
        Job(
            job_id=job_id,
            name=f"{job_id} 안내",
            template_id=template_id,
            template_version=1,
            purpose=purpose,
            priority=3,
            routes={},
            sender_number="15880000",
            department="card",
            status=status,
            created_at=T0,
            updated_at=T0,
        )
    )


def message(
    session: Any,
    job_id: str,
    customer_id: str,
    channel: str,
    state: str,
    at: datetime,
    *,
    recipient: str = SHARED,
    parent: Message | None = None,
) -> Message:
    m = Message(
        idempotency_key=f"{job_id}:{customer_id}:{channel}",
        job_id=job_id,
        customer_id=customer_id,
        channel=channel,
        message_type=channel.upper(),
        provider="relay",
        leg=0 if parent is None else parent.leg + 1,
        chain=[channel],
        parent_id=None if parent is None else parent.id,
        priority=3,
        recipient=recipient,
        body=f"{customer_id} 님, {recipient} 안내",
        state=state,
        created_at=at,
        updated_at=at,
        submitted_at=at,
        completed_at=at + timedelta(minutes=1) if state in ("delivered", "failed") else None,
    )
    session.add(m)
    session.flush()
    return m


def mo(session: Any, n: int, customer_id: str, at: datetime, message_id: int | None) -> MoMessage:
    row = MoMessage(
        provider="relay",
        channel="sms",
        provider_mo_id=f"MO{n}",
        sender="+821011112222",
        recipient="15880000",
        text="수신거부" if message_id else "문의드립니다",
        received_at=at,
        recorded_at=at,
        message_id=message_id,
        customer_id=customer_id,
        route="opt_out" if message_id else "care",
    )
    session.add(row)
    session.flush()
    return row


def opt_out(session: Any, customer_id: str, at: datetime, **kw: Any) -> None:
    session.add(OptOut(customer_id=customer_id, opted_out_at=at, recorded_at=at, **kw))


@pytest.fixture
def seeded(store: Any) -> dict[str, int]:
    """A1 and A2 share a number; B1's number changed after a campaign reached the old one."""
    ids: dict[str, int] = {}
    with store.session() as s:
        customer(s, "A1", SHARED)
        customer(s, "A2", "010-1111-2222")
        customer(s, "B1", "01033334444")
        s.add(Template(id=1, code="t", name="t", purpose="advertising", created_at=T0))
        s.add(
            Template(
                id=2, code="m", name="m", purpose="informational", created_at=T0, tags=["manual"]
            )
        )
        s.flush()
        job(s, "camp", "done", 1, "advertising")
        job(s, "rt", "standing", 1, "informational")
        job(s, "tst", "test", 1, "informational")
        job(s, "man", "done", 2, "informational")
        s.flush()
        # A1: a campaign that fell back from AlimTalk to SMS, clicked, answered "수신거부".
        first = message(s, "camp", "A1", "alimtalk", "failed", T0)
        second = message(
            s, "camp", "A1", "sms", "delivered", T0 + timedelta(minutes=2), parent=first
        )
        first.next_leg_id = second.id
        s.add(
            ShortLink(
                code="abc123",
                message_key=second.idempotency_key,
                position=0,
                kind="link",
                job_id="camp",
                customer_id="A1",
                target_url="https://bank.example/e",
                created_at=T0,
            )
        )
        s.add(LinkClick(code="abc123", clicked_at=T0 + timedelta(hours=1)))
        reply = mo(s, 1, "A1", T0 + timedelta(hours=2), second.id)
        opt_out(
            s,
            "A1",
            T0 + timedelta(hours=2),
            channel=None,
            purpose="advertising",
            source="mo",
            reference=str(reply.id),
        )
        # A1: a real-time push from core banking, opened.
        push = message(
            s, "rt", "A1", "push", "delivered", T0 + timedelta(days=2), recipient="token-1"
        )
        s.add(
            SendRequest(
                caller="core-banking",
                caller_key="k1",
                job_id="rt",
                customer_id="A1",
                variables={},
                lane=2,
                state="queued",
                message_id=push.id,
                received_at=push.created_at,
            )
        )
        s.add(
            DeliveryEvent(
                message_id=push.id,
                stage="handset",
                status="opened",
                occurred_at=T0 + timedelta(days=2, hours=1),
                recorded_at=T0,
            )
        )
        message(s, "tst", "A1", "sms", "delivered", T0 + timedelta(days=1))
        # A2: a manual send, then a reply matched to nothing (attributed by time) and an
        # opt-out a month later (no contact's response).
        manual = message(s, "man", "A2", "sms", "delivered", T0 + timedelta(days=3))
        mo(s, 2, "A2", T0 + timedelta(days=3, hours=1), None)
        opt_out(s, "A2", T0 + timedelta(days=33), source="080")
        # B1: reached at the old number.
        old = message(s, "camp", "B1", "sms", "delivered", T0, recipient="01055556666")
        ids.update(first=first.id, push=push.id, manual=manual.id, old=old.id)
    return ids


def test_fallback_chain_is_one_contact_with_every_response(store: Any, seeded: Any) -> None:
    with store.session() as session:
        found = contact_history(session, ["A1"])
    assert [(c.job_id, c.kind) for c in found] == [("rt", "real-time"), ("camp", "campaign")]
    rt, camp = found
    assert camp.message_id == seeded["first"] and camp.channels == ("alimtalk", "sms")
    assert (camp.state, camp.delivered_channel) == ("delivered", "sms")
    assert camp.delivered_at == T0 + timedelta(minutes=3)
    assert camp.clicks == [T0 + timedelta(hours=1)]
    assert [(r.text, r.linked) for r in camp.replies] == [("수신거부", True)]
    assert (camp.opted_out_at, camp.opt_out_source) == (T0 + timedelta(hours=2), "mo")
    assert camp.opened_at is None
    assert (rt.caller, rt.opened_at) == ("core-banking", T0 + timedelta(days=2, hours=1))
    assert rt.replies == [] and rt.opted_out_at is None and rt.clicks == []


def test_tests_only_when_asked_and_time_bounds(store: Any, seeded: Any) -> None:
    with store.session() as session:
        every = contact_history(session, ["A1"], include_tests=True)
        recent = contact_history(session, ["A1"], since=T0 + timedelta(days=1))
        old = contact_history(session, ["A1"], until=T0 + timedelta(days=1))
        newest = contact_history(session, ["A1"], limit=1)
    assert [c.kind for c in every] == ["real-time", "test", "campaign"]
    assert [c.job_id for c in recent] == ["rt"]
    assert [c.job_id for c in old] == ["camp"]
    assert [c.job_id for c in newest] == ["rt"]


def test_unlinked_reply_by_time_and_late_opt_out_ignored(store: Any, seeded: Any) -> None:
    with store.session() as session:
        (manual,) = contact_history(session, ["A2"])
        (unwindowed,) = contact_history(session, ["A2"], window=timedelta(minutes=30))
    assert manual.kind == "manual"
    assert [(r.text, r.linked) for r in manual.replies] == [("문의드립니다", False)]
    assert manual.opted_out_at is None
    assert unwindowed.replies == []


def test_phone_lookup_shared_and_changed_numbers(store: Any, seeded: Any) -> None:
    with store.session() as session:
        assert customers_by_phone(session, "+82 10-1111-2222") == ["A1", "A2"]
        assert customers_by_phone(session, "01055556666") == []
        shared = contact_history(
            session, customers_by_phone(session, SHARED), recipients=phone_spellings(SHARED)
        )
        changed = contact_history(session, [], recipients=phone_spellings("010-5555-6666"))
    assert {(c.customer_id, c.job_id) for c in shared} == {
        ("A1", "rt"),
        ("A1", "camp"),
        ("A2", "man"),
    }
    assert [(c.customer_id, c.message_id) for c in changed] == [("B1", seeded["old"])]


def test_a_handful_of_queries_whatever_the_count(store: Any, seeded: Any) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = store.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with store.session() as session:
            contact_history(session, ["A1", "A2", "B1"], include_tests=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 10


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"since": datetime(2026, 11, 1)}, "since"),
        ({"window": timedelta(days=-1)}, "window"),
    ],
)
def test_bad_arguments_name_the_field(store: Any, kwargs: Any, field: str) -> None:
    with store.session() as session, pytest.raises(ValueError, match=rf"^{field}:"):
        contact_history(session, ["A1"], **kwargs)


def test_phone_spellings() -> None:
    assert phone_spellings("+82 10 1234 5678") == ["+821012345678", "010-1234-5678", "01012345678"]
    with pytest.raises(ValueError, match=r"^phone:"):
        phone_spellings("12")


def test_real_dispatch_fallbacks_fold_into_one_contact_each(sim_bank: Any) -> None:
    """Through the dispatcher and the gateway simulator: a push to an unregistered token
    fails and falls back to SMS; the history shows one contact per customer."""
    import asyncio

    from ums_pipelines.dispatch.runner import Dispatcher

    customers = [f"P{i}" for i in range(4)]
    for i, cid in enumerate(customers):
        sim_bank.add_customer(cid, preferred="push", push_token=f"invalid-{i}")
    job_id = sim_bank.targeted()
    result = asyncio.run(
        Dispatcher(sim_bank.store, sim_bank.settings, tick=0.05).run_job(job_id, 60)
    )
    assert result.terminal
    messages = sim_bank.messages(job_id)
    with sim_bank.store.session() as session:
        found = contact_history(session, customers)
    assert sorted(c.customer_id for c in found) == customers
    assert sum(len(c.legs) for c in found) == len(messages)
    for c in found:
        assert c.kind == "campaign" and c.channels == ("push", "sms")
        assert c.legs[0].state == "failed" and c.state == c.legs[-1].state
        assert (c.delivered_channel == "sms") == (c.state == "delivered")
