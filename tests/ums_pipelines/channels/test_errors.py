"""The error taxonomy: every simulator code mapped, unknown codes safe and visible.

Behaviour: an FCM UNREGISTERED ends the push leg, falls back and retires the token; a
Kakao "not a KakaoTalk user" falls back at once without retries; a 5xx is retried.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import ums_pipelines.gateway_sim
from ums_pipelines.channels import errors
from ums_pipelines.channels.errors import (
    FALL_BACK,
    MAPPINGS,
    PERMANENT,
    RETIRE_TOKEN,
    RETRYABLE,
    classify,
    outcome_for,
    unmapped_counts,
)
from ums_pipelines.channels.providers import AlimTalkAdapter, FcmAdapter, SmsRelayAdapter
from ums_pipelines.dispatch.outbox import SendOutcome, claim, enqueue_job, record_outcomes
from ums_pipelines.dispatch.receipts import apply_receipts
from ums_pipelines.gateway_sim import GatewaySimulator, codes
from ums_pipelines.store.models import AuditLog, Customer, Message

# Modules that register codes when imported: all of the simulator, before collection.
for _module in pkgutil.iter_modules(ums_pipelines.gateway_sim.__path__):
    importlib.import_module(f"ums_pipelines.gateway_sim.{_module.name}")

ALL = codes.all_codes()
LEASE = timedelta(minutes=5)


@pytest.mark.parametrize("entry", ALL, ids=[f"{c.provider}/{c.code}" for c in ALL])
def test_every_simulator_code_has_an_explicit_mapping(entry: codes.ProviderCode) -> None:
    mapping = MAPPINGS.get(entry.provider, {})
    assert entry.code in mapping, f"{entry.provider} code {entry.code} has no mapping"
    error = classify(entry.provider, entry.code)
    assert error.mapped and error.reason


@pytest.mark.parametrize("provider", sorted(MAPPINGS))
def test_every_mapping_is_of_a_registered_code(provider: str) -> None:
    """A mapping of a code the simulator cannot return is a typo or a stale entry."""
    stale = [code for code in MAPPINGS[provider] if codes.lookup(provider, code) is None]
    assert stale == []


@pytest.mark.parametrize(
    ("provider", "code", "kind", "falls_back"),
    [
        (codes.FCM, "UNREGISTERED", RETIRE_TOKEN, True),
        (codes.FCM, "SENDER_ID_MISMATCH", RETIRE_TOKEN, True),
        (codes.APNS, "BadDeviceToken", RETIRE_TOKEN, True),
        (codes.APNS, "Unregistered", RETIRE_TOKEN, True),
        (codes.KAKAO, "3018", FALL_BACK, True),
        (codes.KAKAO, "2003", FALL_BACK, True),
        (codes.RCS, "60101", FALL_BACK, True),
        (codes.KAKAO, "3022", PERMANENT, False),  # night ban: no next leg either
        (codes.KAKAO, "1003", PERMANENT, False),  # our sender key: fix, don't route round
        (codes.RELAY, "E-SIZE", PERMANENT, True),
        (codes.FCM, "UNAUTHENTICATED", PERMANENT, False),
        (codes.SMTP, "550", FALL_BACK, True),
        (codes.SMTP, "452", RETRYABLE, True),
        (codes.RELAY, "E-UNAVAILABLE", RETRYABLE, True),
        (codes.KAKAO, "9999", RETRYABLE, True),
        (codes.APNS, "TooManyRequests", RETRYABLE, True),
        (codes.FCM, "QUOTA_EXCEEDED", RETRYABLE, True),
        # Codes the adapters make up, for any provider.
        (codes.RCS, "HTTP-503", RETRYABLE, True),
        (codes.KAKAO, "HTTP-429", RETRYABLE, True),
        (codes.RELAY, "HTTP-401", PERMANENT, False),
        (codes.APNS, "E-TRANSPORT", RETRYABLE, True),
    ],
)
def test_classes_of_known_codes(provider: str, code: str, kind: str, falls_back: bool) -> None:
    error = classify(provider, code)
    assert (error.kind, error.falls_back, error.mapped) == (kind, falls_back, True)
    assert error.status == ("retry" if kind == RETRYABLE else "rejected")


@pytest.mark.parametrize(
    ("provider", "code", "kind"),
    [
        (codes.KAKAO, "7777", PERMANENT),
        (codes.RCS, "503", RETRYABLE),  # a bare 5xx status
        (codes.RELAY, "E-THROTTLED", RETRYABLE),
        (codes.FCM, "SOMETHING_UNAVAILABLE", RETRYABLE),
        (codes.SMTP, "471", RETRYABLE),  # SMTP: 4xx transient
        (codes.SMTP, "571", PERMANENT),  # SMTP: 5xx permanent
        (codes.APNS, None, PERMANENT),
    ],
)
def test_unknown_codes_get_a_safe_default_and_are_recorded(
    provider: str, code: str | None, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = unmapped_counts().get((provider, code or ""), 0)
    with caplog.at_level(logging.WARNING, logger=errors.__name__):
        error = classify(provider, code)
    assert (error.kind, error.mapped) == (kind, False)
    assert error.falls_back
    assert "unmapped" in error.reason
    assert unmapped_counts()[(provider, code or "")] == before + 1
    logged = any(
        "unmapped" in r.getMessage() and provider in r.getMessage() for r in caplog.records
    )
    assert logged is (before % 1000 == 0)  # the first sighting (another test may have had it)


def test_an_unmapped_code_is_logged_once_per_thousand(caplog: pytest.LogCaptureFixture) -> None:
    code = f"NEW-{uuid.uuid4().hex[:8].upper()}"
    with caplog.at_level(logging.WARNING, logger=errors.__name__):
        for _ in range(2001):
            classify(codes.RCS, code)
    seen = [re.search(r"\(seen (\d+)\)", r.getMessage()) for r in caplog.records]
    assert [m.group(1) for m in seen if m] == ["1", "1001", "2001"]
    assert unmapped_counts()[(codes.RCS, code)] == 2001


def test_an_unmapped_code_is_masked_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=errors.__name__):
        classify(codes.RELAY, "bad number 010-1234-5678")
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "1234" not in text and "010-****-5678" in text
    assert (codes.RELAY, "bad number 010-****-5678") in unmapped_counts()


@pytest.mark.parametrize(
    ("provider", "code", "status", "fall_back", "retire"),
    [
        (codes.FCM, "UNREGISTERED", "rejected", True, True),
        (codes.KAKAO, "3018", "rejected", True, False),
        (codes.KAKAO, "3022", "rejected", False, False),
        (codes.RELAY, "E-UNAVAILABLE", "retry", True, False),
    ],
)
def test_outcome_for_carries_the_class(
    provider: str, code: str, status: str, fall_back: bool, retire: bool
) -> None:
    o = outcome_for(7, provider, code, "provider text", retry_after=2.0)
    assert (o.message_id, o.status, o.code) == (7, status, code)
    assert (o.fall_back, o.retire_token, o.retry_after) == (fall_back, retire, 2.0)
    assert o.reason is not None and o.reason.endswith(": provider text")


def test_map_codes_extends_a_provider() -> None:
    errors.map_codes(codes.RCS, {"69999": errors.ErrorClass(FALL_BACK, "test code")})
    try:
        assert classify(codes.RCS, "69999").kind == FALL_BACK
    finally:
        del MAPPINGS[codes.RCS]["69999"]
    assert classify(codes.RCS, "69999").mapped is False


# -- behaviour on the send path ----------------------------------------------------------


def _claimed(bank: Any, channel: str, job_id: str) -> list[Any]:
    with bank.store.session() as session:
        return claim(session, channel, "t", 100, LEASE, job_id=job_id)


def _record(bank: Any, outcomes: list[Any]) -> Any:
    with bank.store.session() as session:
        return record_outcomes(session, bank.settings, "t", outcomes)


def test_fcm_unregistered_ends_the_push_leg_falls_back_and_retires_the_token(
    sim_bank: Any, gateway: GatewaySimulator
) -> None:
    sim_bank.add_customer("P1", preferred="push", phone="01040000001", push_token="invalid-p1")
    sim_bank.add_customer("P2", preferred="push", phone="01040000002", push_token="device-p2")
    job_id = sim_bank.targeted(routes={"default": ["push", "sms"]})
    enqueue_job(sim_bank.store, sim_bank.settings, job_id)
    batch = _claimed(sim_bank, "push", job_id)

    async def go() -> list[Any]:
        async with httpx.AsyncClient() as client:
            adapter = FcmAdapter(client, gateway.base_url, "tok", project="ums-bank")
            return list(await adapter.send(batch))

    stats = _record(sim_bank, asyncio.run(go()))
    assert (stats.failed, stats.fell_back, stats.tokens_retired) == (1, 1, 1)
    rows = {(m.customer_id, m.leg): m for m in sim_bank.messages(job_id)}
    push = rows[("P1", 0)]
    assert (push.state, push.error_code, push.attempts) == ("failed", "UNREGISTERED", 1)
    assert (rows[("P1", 1)].channel, rows[("P1", 1)].state) == ("sms", "queued")
    assert ("P2", 1) not in rows
    with sim_bank.store.session() as session:
        tokens = dict(session.execute(select(Customer.customer_id, Customer.push_token)).all())
        [entry] = session.scalars(
            select(AuditLog).where(AuditLog.action == "customer.push_token_retired")
        ).all()
    assert tokens == {"P1": None, "P2": "device-p2"}
    assert entry.entity_id == "P1"
    assert entry.detail["codes"] == ["UNREGISTERED"]
    assert entry.detail["tokens"] == ["inva***(10)"]
    assert "invalid-p1" not in str(entry.detail)


def test_a_token_registered_since_the_send_is_kept(bank: Any) -> None:
    bank.add_customer("P1", preferred="push", push_token="old-token-1")
    job_id = bank.targeted(routes={"default": ["push", "sms"]})
    enqueue_job(bank.store, bank.settings, job_id)
    [m] = _claimed(bank, "push", job_id)
    with bank.store.session() as session:
        session.get(Customer, "P1").push_token = "new-token-1"  # type: ignore[union-attr]
    stats = _record(bank, [outcome_for(m.id, codes.FCM, "UNREGISTERED")])
    assert (stats.failed, stats.tokens_retired) == (1, 0)
    with bank.store.session() as session:
        assert session.get(Customer, "P1").push_token == "new-token-1"  # type: ignore[union-attr]


def _mock(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def test_not_a_kakao_user_falls_back_at_once_without_retries(bank: Any) -> None:
    bank.add_customer("K1", preferred="alimtalk", phone="01050000001")
    bank.add_customer("K2", preferred="alimtalk", phone="01050000002")
    job_id = bank.targeted()
    enqueue_job(bank.store, bank.settings, job_id)
    batch = _claimed(bank, "alimtalk", job_id)
    keys = {m.recipient: m.idempotency_key for m in batch}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "results": [
                    {"clientKey": keys["01050000001"], "status": "rejected", "code": "3018"},
                    {"clientKey": keys["01050000002"], "status": "accepted", "messageId": "A2"},
                ]
            },
        )

    async def go() -> list[Any]:
        async with _mock(handler) as client:
            adapter = AlimTalkAdapter(client, "http://kakao.test", "tok", sender_key="ums")
            return list(await adapter.send(batch))

    stats = _record(bank, asyncio.run(go()))
    assert (stats.failed, stats.retried, stats.fell_back) == (1, 0, 1)
    rows = {(m.customer_id, m.leg): m for m in bank.messages(job_id)}
    leg0 = rows[("K1", 0)]
    assert (leg0.state, leg0.attempts, leg0.error_code) == ("failed", 1, "3018")
    assert leg0.error_reason is not None and "not a KakaoTalk user" in leg0.error_reason
    assert (rows[("K1", 1)].channel, rows[("K1", 1)].state) == ("sms", "queued")
    assert rows[("K2", 0)].state == "accepted"


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503, json={"error": {"code": "E-UNAVAILABLE", "message": "busy"}}),
        httpx.Response(
            200, json={"results": [{"clientKey": "*", "status": "rejected", "code": "9999"}]}
        ),
    ],
    ids=["http-503", "kakao-9999"],
)
def test_a_5xx_class_code_is_retried(bank: Any, answer: httpx.Response) -> None:
    bank.add_customer("S1", preferred="sms", phone="01060000001")
    job_id = bank.targeted(routes={"default": ["sms"]})
    enqueue_job(bank.store, bank.settings, job_id)
    [m] = _claimed(bank, "sms", job_id)

    def handler(request: httpx.Request) -> httpx.Response:
        if answer.status_code != 200:
            return answer
        body = answer.json()
        body["results"][0]["clientKey"] = m.idempotency_key
        return httpx.Response(200, json=body)

    async def go() -> list[Any]:
        async with _mock(handler) as client:
            # 9999 is Kakao's system error, so it goes through the Kakao adapter.
            adapter: Any = (
                SmsRelayAdapter(client, "http://relay.test", "tok")
                if answer.status_code != 200
                else AlimTalkAdapter(client, "http://kakao.test", "tok", sender_key="ums")
            )
            return list(await adapter.send([m]))

    stats = _record(bank, asyncio.run(go()))
    assert (stats.retried, stats.failed, stats.fell_back) == (1, 0, 0)
    [row] = bank.messages(job_id)
    assert (row.state, row.attempts) == ("queued", 1)
    assert row.not_before is not None
    with bank.store.session() as session:
        assert session.scalar(select(Message.next_leg_id).where(Message.id == m.id)) is None


# -- behaviour on the receipt path -------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "next_leg"),
    [
        ("3018", True),  # not a KakaoTalk user: the SMS leg goes at once
        ("E-HANDSET", True),
        (None, True),  # a failure without a code still chains on
        ("3022", False),  # outside FriendTalk/brand hours: the next leg would break the law
        ("1003", False),  # our sender key: fix the configuration, don't route round
    ],
)
def test_a_failure_receipt_chains_on_by_its_class(
    bank: Any, code: str | None, next_leg: bool
) -> None:
    bank.add_customer("K1", preferred="alimtalk", phone="01070000001")
    job_id = bank.targeted(routes={"default": ["alimtalk", "sms"]})
    enqueue_job(bank.store, bank.settings, job_id)
    [m] = _claimed(bank, "alimtalk", job_id)
    _record(bank, [SendOutcome(m.id, "accepted", provider_message_id="P1")])
    receipt = {"clientKey": m.idempotency_key, "stage": "handset", "status": "failed"}
    result = apply_receipts(
        bank.store, bank.settings, "alimtalk", [receipt | {"code": code}], cursor=1
    )
    assert (result.failed, result.fell_back) == (1, int(next_leg))
    legs = {row.leg: row for row in bank.messages(job_id)}
    assert legs[0].state == "failed" and legs[0].error_code == code
    assert (1 in legs) is next_leg
