"""Real-time intake: idempotent on the caller key, policy on the way in, urgent first, and
the request drop folder with bad lines."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from ums_pipelines.channels.payload import DmLetter, Payload
from ums_pipelines.dispatch.agent import EXPRESS_LANES, Agent
from ums_pipelines.dispatch.claims import claim_rows
from ums_pipelines.dispatch.intake import IntakeError, request_latencies, submit
from ums_pipelines.dispatch.record import SendOutcome, record_results
from ums_pipelines.dispatch.requestfiles import requests_inbox, sync_request_files
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Lane, message_priority
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Job, Message
from ums_pipelines.store.sendplane import SendRequest

TEMPLATE = "tx-notice"  # registered by bank.register()


def counts(bank: Any) -> tuple[int, int]:
    with bank.store.session() as session:
        return (
            int(session.scalar(select(func.count()).select_from(SendRequest)) or 0),
            int(session.scalar(select(func.count()).select_from(Message)) or 0),
        )


def send(bank: Any, key: str, customer: str = "C1", **kw: Any) -> Any:
    kw.setdefault("template_code", TEMPLATE)
    return submit(
        bank.store, bank.settings, caller="core", caller_key=key, customer_id=customer, **kw
    )


def test_a_caller_key_is_written_once_even_when_raced(bank: Any) -> None:
    bank.add_customer("C1")
    bank.register()
    first = send(bank, "tx-1")
    assert first.created and first.state == "queued" and first.message_id is not None
    assert first.job_id == "rt-transactional-tx-notice"
    before = counts(bank)
    again = send(bank, "tx-1", lane="urgent")  # the first answer stands, whatever is asked
    assert not again.created
    assert (again.request_id, again.message_id) == (first.request_id, first.message_id)
    assert counts(bank) == before

    # The same key from eight threads at once: one request, one message.
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: send(bank, "tx-raced"), range(8)))
    assert sum(a.created for a in answers) == 1
    assert len({(a.request_id, a.message_id) for a in answers}) == 1
    assert counts(bank) == (before[0] + 1, before[1] + 1)

    # One customer, many alerts: each request has its own wire key.
    with bank.store.session() as session:
        keys = session.scalars(select(Message.idempotency_key)).all()
        job = session.get(Job, first.job_id)
        assert job is not None and job.status == "standing" and job.priority == Lane.TRANSACTIONAL
        m = session.get(Message, first.message_id)
        assert m is not None and m.priority == message_priority(Lane.TRANSACTIONAL, "sms")
    assert len(set(keys)) == len(keys) == 2
    assert all(k.startswith(f"{first.job_id}.") for k in keys)


def test_policy_refusals_are_recorded_and_bad_requests_raise(bank: Any) -> None:
    bank.add_customer("C1")
    bank.add_customer("C2", deceased=True)
    bank.add_customer("C3", consents=())
    bank.register()
    for key, customer, reason in (
        ("r1", "C404", "customer_id: unknown customer"),
        ("r2", "C2", "customer_id: customer is deceased"),
        ("r3", "C3", "chain: no consent on any of sms"),
    ):
        answer = send(bank, key, customer)
        assert (answer.state, answer.message_id, answer.error) == ("rejected", None, reason)
    assert counts(bank) == (3, 0)
    for kw, field in (
        ({"template_code": "nope"}, "template_code"),
        ({"template_code": None}, "template_code"),
        ({"lane": "loud"}, "lane"),
        ({"lane": 9}, "lane"),
        ({"chain": ["fax"]}, "chain"),
        ({"chain": []}, "chain"),
        ({"variables": ["x"]}, "variables"),
    ):
        with pytest.raises(IntakeError, match=f"^{field}: "):
            send(bank, "bad", **kw)
    with pytest.raises(IntakeError, match=r"^caller_key: "):
        send(bank, " ")
    assert counts(bank) == (3, 0)


def test_urgent_jumps_every_queue_and_express_claims_skip_bulk(bank: Any) -> None:
    bank.add_customer("C1")
    bulk = bank.register("bulk-ad", lane=Lane.MARKETING)
    marketing = send(bank, "m1", job_id=bulk)
    normal = send(bank, "t1")
    urgent = send(bank, "u1", lane="urgent")
    auth = send(bank, "a1", lane=Lane.AUTH)
    assert urgent.job_id == "rt-urgent-tx-notice"
    with bank.store.session() as session:
        order = [c.id for c in claim_rows(session, "sms", "x", 10, timedelta(seconds=30), utcnow())]
    ids = [urgent.message_id, auth.message_id, normal.message_id, marketing.message_id]
    assert order == ids
    with bank.store.session() as session:
        session.execute(update(Message).values(state="queued", lease_owner=None))
    express = Agent(bank.store, bank.settings)._claim("sms", EXPRESS_LANES, 10)
    assert [c.id for c in express] == ids[:3]


def test_fallback_legs_of_two_alerts_to_one_customer_get_their_own_keys(bank: Any) -> None:
    bank.add_customer("C1", push_token="tok-1")
    bank.register()
    first = send(bank, "p1", chain=["push", "sms"])
    second = send(bank, "p2", chain=["push", "sms"])
    ids = [first.message_id, second.message_id]
    now = utcnow()
    with bank.store.session() as session:
        claim_rows(session, "push", "s", 10, timedelta(seconds=30), now)
        outcomes = [SendOutcome(i, "rejected", code="UNREGISTERED") for i in ids]
        stats = record_results(session, bank.settings, "s", outcomes, now)
    assert stats.fell_back == 2
    legs = [m for m in bank.messages(first.job_id) if m.leg == 1]
    assert sorted(m.parent_id for m in legs) == sorted(ids)
    assert len({m.idempotency_key for m in legs}) == 2
    assert all(m.channel == "sms" and m.state == "queued" for m in legs)


@pytest.mark.parametrize(
    ("letter", "state", "recipient"),
    [
        (DmLetter(postcode="04524", address="서울특별시 중구 세종대로 110"), "queued", "04524 "),
        # No address in the content: the leg fails with the reason and SMS goes on.
        (None, "failed", ""),
    ],
)
def test_a_letter_is_routed_by_the_address_in_its_content(
    bank: Any, letter: DmLetter | None, state: str, recipient: str
) -> None:
    bank.add_customer("C1")
    payload = Payload(dm=letter) if letter is not None else None
    bank.register(
        template_code="letters",
        variants=[ChannelVariant("sms", "안내"), ChannelVariant("dm", "안내문", payload=payload)],
        routes={"sms": ["dm", "sms"]},
    )
    answer = send(bank, "dm-1", template_code="letters", chain=["dm", "sms"])
    assert (answer.state, answer.error) == ("queued", None)
    legs = bank.messages(answer.job_id)
    assert (legs[0].channel, legs[0].state) == ("dm", state)
    assert legs[0].recipient.startswith(recipient)
    if letter is None:
        assert legs[0].error_code == "E-ADDRESS" and legs[1].channel == "sms"


def test_request_latency_runs_from_arrival_to_provider_acceptance(bank: Any) -> None:
    bank.add_customer("C1")
    bank.register()
    answer = send(bank, "l1")
    send(bank, "l2")  # not accepted yet: no latency
    with bank.store.session() as session:
        request = session.get(SendRequest, answer.request_id)
        assert request is not None
        session.execute(
            update(Message)
            .where(Message.id == answer.message_id)
            .values(submitted_at=request.received_at + timedelta(milliseconds=250))
        )
    assert request_latencies(bank.store) == [pytest.approx(250.0, abs=1.0)]


def test_drop_folder_applies_good_lines_and_names_bad_ones(bank: Any) -> None:
    bank.add_customer("C1")
    bank.add_customer("C2", deceased=True)
    bank.register()
    inbox = requests_inbox(bank.settings)
    inbox.mkdir(parents=True)
    good = {"caller": "card", "template_code": TEMPLATE, "customer_id": "C1"}
    lines = [
        json.dumps({**good, "caller_key": "k1"}),
        "{not json",
        json.dumps({**good, "caller_key": "k2", "lane": "urgent"}),
        json.dumps({"caller": "card", "template_code": TEMPLATE, "caller_key": "k3"}),
        "",
        json.dumps({**good, "caller_key": "k4", "lane": "shouty"}),
        json.dumps({**good, "caller_key": "k5", "customer_id": "C2"}),
        json.dumps({**good, "caller_key": "k6", "colour": "red"}),
        json.dumps({**good, "caller_key": "k1"}),
    ]
    text = "\n".join(lines) + "\n"
    (inbox / "batch-001.jsonl").write_text(text, encoding="utf-8")
    (inbox / ".batch-002.jsonl.tmp").write_text(text, encoding="utf-8")  # not yet renamed
    [result] = sync_request_files(bank.store, bank.settings)
    assert (result.status, result.lines, result.queued, result.rejected) == ("partial", 8, 2, 1)
    assert result.duplicates == 1
    assert [str(e) for e in result.errors] == [
        "line 2: -: not JSON: Expecting property name enclosed in double quotes at column 2",
        "line 4: customer_id: required field missing",
        "line 6: lane: 'shouty' is not a lane (0-4 or urgent, auth, transactional,"
        " informational, marketing)",
        "line 8: colour: unknown field",
    ]
    assert result.moved_to is not None and result.moved_to.parent == inbox / "done"
    sidecar = result.moved_to.with_name(result.moved_to.name + ".errors.txt")
    assert sidecar.read_text(encoding="utf-8").splitlines()[1].startswith("line 4: customer_id")
    assert counts(bank) == (3, 2)

    # The same file delivered again writes nothing; a file with no good line is rejected.
    (inbox / "batch-001.jsonl").write_text(text, encoding="utf-8")
    (inbox / "batch-003.jsonl").write_text("[1, 2]\n", encoding="utf-8")
    again, bad = sync_request_files(bank.store, bank.settings)
    assert (again.queued, again.rejected, again.duplicates) == (0, 0, 4)
    assert counts(bank) == (3, 2)
    assert bad.status == "rejected" and bad.moved_to is not None
    assert bad.moved_to.parent == inbox / "rejected"
    reason = bad.moved_to.with_name(bad.moved_to.name + ".reason.txt").read_text(encoding="utf-8")
    assert reason == "line 1: -: a request must be a JSON object, not list\n"
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == [".batch-002.jsonl.tmp"]
