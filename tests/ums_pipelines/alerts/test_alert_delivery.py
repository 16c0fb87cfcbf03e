"""Delivering notifications: on-call requests through the outbox, queued once under keys
of (alert, number, contact, channel); the webhook signed, retried, recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from ums_pipelines.alerts import raise_alert
from ums_pipelines.alerts.notify import ALERT_JOB, CALLER, queue_oncall
from ums_pipelines.alerts.oncall import add_contact
from ums_pipelines.alerts.webhook import deliver_webhooks
from ums_pipelines.dispatch.backoff import Backoff
from ums_pipelines.lanes import Lane, lane_of
from ums_pipelines.store.alerts import AlertNotification
from ums_pipelines.store.models import Message
from ums_pipelines.store.sendplane import SendRequest

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
SECRET = "s3cret"


def _raise(bank: Any, key: str = "error_burst:sim-sms") -> None:
    with bank.store.session() as session:
        raise_alert(
            session, key=key, rule="error_burst", subject="sim-sms", details={"n": 1},
            now=T0, summary=f"error burst {key}",
        )  # fmt: skip


def _oncall(bank: Any) -> None:
    bank.register()  # a registered sender number for the alert job
    with bank.store.session() as session:
        add_contact(session, name="당직", phone="01099990001", email="ops@example.com",
                    actor="ops", now=T0)  # fmt: skip
        add_contact(session, name="팀장", phone="01099990002", email=None, actor="ops", now=T0)


def test_oncall_messages_are_urgent_requests_queued_once(bank: Any) -> None:
    _oncall(bank)
    _raise(bank)
    assert queue_oncall(bank.store, bank.settings, T0) == 3  # 2 SMS + 1 e-mail
    assert queue_oncall(bank.store, bank.settings, T0) == 0  # nothing pending any more
    # A crash after the requests were written but before the notification was marked:
    # queueing it again finds every key and writes nothing.
    with bank.store.session() as session:
        note = session.scalars(select(AlertNotification)).one()
        note.oncall_state = "pending"
    assert queue_oncall(bank.store, bank.settings, T0) == 0
    with bank.store.reading() as session:
        requests = session.scalars(select(SendRequest).where(SendRequest.caller == CALLER)).all()
        messages = session.scalars(select(Message).where(Message.job_id == ALERT_JOB)).all()
    assert len(requests) == 3 and len(messages) == 3
    assert {m.state for m in messages} == {"queued"}
    assert {lane_of(m.priority) for m in messages} == {Lane.URGENT}
    assert sorted(m.recipient for m in messages) == [
        "01099990001",
        "01099990002",
        "ops@example.com",
    ]
    assert all("error burst" in m.body and "발생" in m.body for m in messages)
    assert all(m.customer_id.startswith("oncall:") for m in messages)


def test_nobody_on_call_queues_nothing_and_needs_no_setup(bank: Any) -> None:
    _raise(bank)
    assert queue_oncall(bank.store, bank.settings, T0) == 0
    with bank.store.reading() as session:
        note = session.scalars(select(AlertNotification)).one()
        assert (note.oncall_state, note.oncall_requests) == ("queued", 0)
        assert session.scalar(select(func.count()).select_from(Message)) == 0


class _Receiver:
    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        status = self.answers.pop(0) if self.answers else 200
        return httpx.Response(status, headers={"Retry-After": "0"} if status == 429 else {})


def _deliver(bank: Any, answers: list[int], **settings: Any) -> tuple[dict[str, int], _Receiver]:
    receiver = _Receiver(answers)
    values = {"alert_webhook_url": "http://hooks.test/alerts",
              "alert_webhook_secret": SecretStr(SECRET), **settings}  # fmt: skip
    bank.settings = bank.settings.model_copy(update=values)
    sleeps: list[float] = []
    with httpx.Client(transport=httpx.MockTransport(receiver)) as client:
        counts = deliver_webhooks(
            bank.store, bank.settings, T0, client=client,
            backoff=Backoff(base_s=0.5, cap_s=4.0, rng=random.Random(1)), sleep=sleeps.append,
        )  # fmt: skip
    assert len(sleeps) == max(len(receiver.seen) - 1, 0) or counts.get("failed")
    return counts, receiver


def _note(bank: Any) -> AlertNotification:
    with bank.store.reading() as session:
        note: AlertNotification = session.scalars(select(AlertNotification)).one()
        return note


@pytest.mark.parametrize(
    ("answers", "state", "attempts", "status"),
    [
        ([], "sent", 1, 200),
        ([503, 429, 200], "sent", 3, 200),
        ([500, 500, 500, 500], "failed", 4, 500),
        ([400], "failed", 1, 400),  # a client error is final
    ],
)
def test_webhook_retries_and_records(
    bank: Any, answers: list[int], state: str, attempts: int, status: int
) -> None:
    _raise(bank)
    counts, receiver = _deliver(bank, list(answers))
    assert counts == {state: 1}
    note = _note(bank)
    assert (note.webhook_state, note.webhook_attempts, note.webhook_status) == (
        state, attempts, status,
    )  # fmt: skip
    assert len(receiver.seen) == attempts
    first = receiver.seen[0]
    body = first.content
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert first.headers["X-UMS-Signature"] == f"sha256={digest}"
    assert {r.headers["X-UMS-Delivery"] for r in receiver.seen} == {f"{note.alert_id}-1"}
    payload = json.loads(body)
    assert payload["kind"] == "raised" and payload["alert"]["key"] == "error_burst:sim-sms"
    # Delivered (or given up) once: the next round finds nothing pending.
    assert _deliver(bank, [])[0] == {}


def test_webhook_without_url_is_off_and_without_secret_never_unsigned(bank: Any) -> None:
    _raise(bank, "a:1")
    counts, receiver = _deliver(bank, [], alert_webhook_url=None)
    assert counts == {"off": 1} and receiver.seen == []
    _raise(bank, "a:2")
    counts, receiver = _deliver(bank, [], alert_webhook_secret=None)
    assert counts == {"failed": 1} and receiver.seen == []
    with bank.store.reading() as session:
        errors = session.scalars(select(AlertNotification.webhook_error)).all()
    assert "alert_webhook_secret: not set; nothing is sent unsigned" in errors


def test_webhook_connection_errors_are_retried(bank: Any) -> None:
    _raise(bank)
    calls: list[int] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(204)

    hook = {"alert_webhook_url": "http://hooks.test/a", "alert_webhook_secret": SecretStr(SECRET)}
    bank.settings = bank.settings.model_copy(update=hook)
    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        counts = deliver_webhooks(
            bank.store, bank.settings, T0, client=client, sleep=lambda s: None
        )
    assert counts == {"sent": 1} and len(calls) == 3
    assert _note(bank).webhook_attempts == 3
