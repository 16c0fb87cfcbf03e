"""Provider adapters: wire format out, one SendOutcome per message back.

Answers a simulator cannot be made to give on demand (429 with Retry-After, unknown
per-message codes, missing results) come from ``httpx.MockTransport``; everything else
is a real conversation with the gateway simulator.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Callable, Coroutine
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, TypeVar

import httpx
import pytest

from ums_pipelines.channels.providers import (
    PERMANENT,
    AlimTalkAdapter,
    FcmAdapter,
    SmsRelayAdapter,
    SmtpAdapter,
)
from ums_pipelines.dispatch.outbox import Claimed, SendOutcome
from ums_pipelines.gateway_sim import GatewaySimulator
from ums_pipelines.gateway_sim.smtp import LedgerSmtpHandler

T = TypeVar("T")
Handler = Callable[[httpx.Request], httpx.Response]


def msg(
    i: int,
    prefix: str,
    *,
    channel: str = "sms",
    message_type: str = "SMS",
    recipient: str = "01012345678",
    body: str = "입금 안내",
    subject: str | None = None,
    html: str | None = None,
    template: str | None = None,
) -> Claimed:
    return Claimed(
        id=i,
        idempotency_key=f"{prefix}{i}",
        channel=channel,
        message_type=message_type,
        recipient=recipient,
        sender="15881234",
        provider_template_code=template,
        subject=subject,
        body=body,
        html_body=html,
        attempts=1,
    )


@pytest.fixture
def prefix() -> str:
    return f"p{uuid.uuid4().hex[:10]}."


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def via_sim(
    gateway: GatewaySimulator, make: Callable[[httpx.AsyncClient], Any], batch: list[Claimed]
) -> list[SendOutcome]:
    async with httpx.AsyncClient() as client:
        outcomes: list[SendOutcome] = await make(client).send(batch)
        return outcomes


async def via_mock(
    handler: Handler, make: Callable[[httpx.AsyncClient], Any], batch: list[Claimed]
) -> list[SendOutcome]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        outcomes: list[SendOutcome] = await make(client).send(batch)
        return outcomes


def sms(client: httpx.AsyncClient, url: str = "http://relay.test") -> SmsRelayAdapter:
    return SmsRelayAdapter(client, url, "tok")


# -- SMS relay --------------------------------------------------------------------------


def test_sms_batch_maps_each_result_to_its_message(
    gateway: GatewaySimulator, prefix: str, ledger_rows: Any
) -> None:
    batch = [
        msg(1, prefix),
        msg(2, prefix, recipient="0212345678"),  # not a mobile: E-RECIPIENT
        msg(3, prefix, message_type="LMS", body="가" * 60, subject="제목"),
        msg(4, prefix, body="가" * 60),  # 120 bytes sent as SMS: E-SIZE
        msg(5, prefix),
    ]
    outcomes = run(via_sim(gateway, lambda c: sms(c, gateway.base_url), batch))
    by_id = {o.message_id: o for o in outcomes}
    assert [o.message_id for o in outcomes] == [1, 2, 3, 4, 5]
    assert {i: by_id[i].status for i in by_id} == {
        1: "accepted",
        2: "rejected",
        3: "accepted",
        4: "rejected",
        5: "accepted",
    }
    assert (by_id[2].code, by_id[4].code) == ("E-RECIPIENT", "E-SIZE")
    assert by_id[2].fall_back  # a bad number on SMS may still be reachable elsewhere
    rows = {r["clientKey"]: r for r in ledger_rows(prefix)}
    assert set(rows) == {f"{prefix}1", f"{prefix}3", f"{prefix}5"}
    for i in (1, 3, 5):
        assert by_id[i].provider_message_id == rows[f"{prefix}{i}"]["messageId"]
    assert (rows[f"{prefix}3"]["type"], rows[f"{prefix}3"]["subject"]) == ("LMS", "제목")
    assert rows[f"{prefix}1"]["sender"] == "15881234"


def test_sms_resend_is_a_duplicate_answered_as_accepted(
    gateway: GatewaySimulator, prefix: str, ledger_rows: Any, ledger_summary: Any
) -> None:
    batch = [msg(1, prefix), msg(2, prefix)]
    first = run(via_sim(gateway, lambda c: sms(c, gateway.base_url), batch))
    again = run(via_sim(gateway, lambda c: sms(c, gateway.base_url), batch))
    assert [o.status for o in again] == ["accepted", "accepted"]
    assert [o.provider_message_id for o in again] == [o.provider_message_id for o in first]
    assert len(ledger_rows(prefix)) == 2
    assert ledger_summary(prefix)["sms"]["duplicates_ignored"] == 2


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (429, {"Retry-After": "7"}, 7.0),
        (429, {"Retry-After": "0.5"}, 0.5),
        (429, {}, None),
        (429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),  # date form: unparsed
        (503, {"Retry-After": "1"}, 1.0),
        (500, {}, None),
    ],
)
def test_busy_provider_means_retry_for_the_whole_batch(
    status: int, headers: dict[str, str], retry_after: float | None
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, json={"error": {"code": "E-BUSY"}})

    outcomes = run(via_mock(handler, sms, [msg(1, "k"), msg(2, "k")]))
    assert [(o.message_id, o.status, o.code, o.retry_after) for o in outcomes] == [
        (1, "retry", f"HTTP-{status}", retry_after),
        (2, "retry", f"HTTP-{status}", retry_after),
    ]


def test_transport_failure_is_retry() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    outcomes = run(via_mock(handler, sms, [msg(1, "k")]))
    assert [(o.status, o.code, o.reason) for o in outcomes] == [
        ("retry", "E-TRANSPORT", "ConnectError")
    ]


@pytest.mark.parametrize("status", [400, 401, 403])
def test_refused_request_is_rejected_without_fall_back(status: int) -> None:
    """Bad credentials or a malformed request are our configuration error: falling back
    would push every customer down every leg."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"code": "E-AUTH"}})

    outcomes = run(via_mock(handler, sms, [msg(1, "k"), msg(2, "k")]))
    assert [(o.status, o.code, o.fall_back) for o in outcomes] == [
        ("rejected", f"HTTP-{status}", False)
    ] * 2


def test_per_item_results_missing_or_transient() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        assert request.headers["Authorization"] == "Bearer tok"
        assert request.url.path == "/sms/v1/messages/batch"
        return httpx.Response(
            200,
            json={
                "results": [
                    {"clientKey": "k1", "status": "accepted", "messageId": "M1"},
                    {"clientKey": "k2", "status": "rejected", "code": "E-THROTTLED"},
                    {"clientKey": "k3", "status": "rejected", "code": "E-SENDER", "reason": "x"},
                    {"clientKey": "k5", "status": "duplicate", "messageId": "M5"},
                ]
            },
        )

    batch = [msg(i, "k") for i in (1, 2, 3, 4, 5)]
    outcomes = run(via_mock(handler, sms, batch))
    assert [(o.message_id, o.status, o.code) for o in outcomes] == [
        (1, "accepted", None),
        (2, "retry", "E-THROTTLED"),  # not known to be permanent
        (3, "rejected", "E-SENDER"),
        (4, "retry", "E-NORESULT"),  # no answer for it: the key makes a retry safe
        (5, "accepted", None),
    ]
    assert outcomes[4].provider_message_id == "M5"
    [body] = seen
    assert [m["clientKey"] for m in body["messages"]] == ["k1", "k2", "k3", "k4", "k5"]
    assert body["messages"][0] == {
        "clientKey": "k1",
        "type": "SMS",
        "from": "15881234",
        "to": "01012345678",
        "subject": None,
        "text": "입금 안내",
    }


def test_permanent_codes() -> None:
    assert {"E-RECIPIENT", "E-SENDER", "E-SIZE", "E-ENCODING", "UNREGISTERED"} <= PERMANENT


# -- AlimTalk ---------------------------------------------------------------------------


def alimtalk(url: str) -> Callable[[httpx.AsyncClient], AlimTalkAdapter]:
    return lambda c: AlimTalkAdapter(c, url, "tok", sender_key="bank-key")


def test_alimtalk_sends_the_template_code(
    gateway: GatewaySimulator, prefix: str, ledger_rows: Any
) -> None:
    batch = [
        msg(1, prefix, channel="alimtalk", message_type="ALIMTALK", template="TPL_A"),
        msg(2, prefix, channel="alimtalk", message_type="ALIMTALK", template="TPL_B"),
        msg(3, prefix, channel="alimtalk", message_type="ALIMTALK", template="TPL_A"),
    ]
    outcomes = run(via_sim(gateway, alimtalk(gateway.base_url), batch))
    assert sorted(o.message_id for o in outcomes) == [1, 2, 3]
    assert {o.status for o in outcomes} == {"accepted"}
    rows = {r["clientKey"]: r for r in ledger_rows(prefix)}
    # The simulator books the template code in the subject slot, the sender key as sender.
    assert {k: (r["subject"], r["sender"], r["type"]) for k, r in rows.items()} == {
        f"{prefix}1": ("TPL_A", "bank-key", "ALIMTALK"),
        f"{prefix}2": ("TPL_B", "bank-key", "ALIMTALK"),
        f"{prefix}3": ("TPL_A", "bank-key", "ALIMTALK"),
    }


def test_alimtalk_one_request_per_template() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/alimtalk/v2/senders/bank-key/messages"
        body = json.loads(request.content)
        bodies.append(body)
        return httpx.Response(
            200,
            json={
                "results": [
                    {"clientKey": m["clientKey"], "status": "accepted"} for m in body["messages"]
                ]
            },
        )

    batch = [msg(i, "k", channel="alimtalk", template=t) for i, t in ((1, "A"), (2, "B"), (3, "A"))]
    outcomes = run(via_mock(handler, alimtalk("http://kakao.test"), batch))
    assert {o.message_id for o in outcomes} == {1, 2, 3}
    assert sorted((b["templateCode"], [m["clientKey"] for m in b["messages"]]) for b in bodies) == [
        ("A", ["k1", "k3"]),
        ("B", ["k2"]),
    ]


def test_alimtalk_bad_group_does_not_sink_the_others(
    gateway: GatewaySimulator, prefix: str
) -> None:
    batch = [
        msg(1, prefix, channel="alimtalk", template=None),  # no template code: refused
        msg(2, prefix, channel="alimtalk", template="TPL_A"),
    ]
    outcomes = {o.message_id: o for o in run(via_sim(gateway, alimtalk(gateway.base_url), batch))}
    assert (outcomes[1].status, outcomes[1].code) == ("rejected", "HTTP-400")
    assert outcomes[2].status == "accepted"


# -- FCM --------------------------------------------------------------------------------


def fcm(url: str) -> Callable[[httpx.AsyncClient], FcmAdapter]:
    return lambda c: FcmAdapter(c, url, "tok", project="ums-bank", in_flight=4)


def test_fcm_sends_the_idempotency_key_header() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"name": f"projects/ums-bank/messages/{len(requests)}"})

    batch = [msg(i, "k", channel="push", recipient=f"tok-{i}", subject="제목") for i in (1, 2, 3)]
    outcomes = run(via_mock(handler, fcm("http://fcm.test"), batch))
    assert [o.status for o in outcomes] == ["accepted"] * 3
    assert sorted(r.headers["Idempotency-Key"] for r in requests) == ["k1", "k2", "k3"]
    for r in requests:
        assert r.url.path == "/v1/projects/ums-bank/messages:send"
        body = json.loads(r.content)["message"]
        key = r.headers["Idempotency-Key"]
        assert body["token"] == f"tok-{key[1:]}"
        assert body["notification"] == {"title": "제목", "body": "입금 안내"}
        assert body["data"] == {"ums_key": key}


def test_fcm_against_the_simulator(
    gateway: GatewaySimulator, prefix: str, ledger_rows: Any
) -> None:
    batch = [
        msg(1, prefix, channel="push", recipient="device-1"),
        msg(2, prefix, channel="push", recipient="invalid-token"),
        msg(3, prefix, channel="push", recipient="device-3", body="가" * 3000),  # > 4 KB
    ]
    outcomes = run(via_sim(gateway, fcm(gateway.base_url), batch))
    assert [(o.message_id, o.status, o.code) for o in outcomes] == [
        (1, "accepted", None),
        (2, "rejected", "UNREGISTERED"),
        (3, "rejected", "INVALID_ARGUMENT"),
    ]
    [row] = ledger_rows(prefix)
    assert row["clientKey"] == f"{prefix}1"
    assert outcomes[0].provider_message_id == f"projects/ums-bank/messages/{row['messageId']}"
    # A retry of the same key is no second push.
    again = run(via_sim(gateway, fcm(gateway.base_url), batch[:1]))
    assert again[0].status == "accepted" and len(ledger_rows(prefix)) == 1


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {"Retry-After": "3"}, ("retry", "HTTP-429", 3.0)),
        (503, {}, ("retry", "HTTP-503", None)),
        (401, {}, ("rejected", "UNAUTHENTICATED", None)),
    ],
)
def test_fcm_status_mapping(
    status: int, headers: dict[str, str], expected: tuple[str, str, float | None]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {"code": status, "status": "UNAUTHENTICATED" if status == 401 else "X"}
        return httpx.Response(status, headers=headers, json={"error": error})

    [o] = run(via_mock(handler, fcm("http://fcm.test"), [msg(1, "k", channel="push")]))
    assert (o.status, o.code, o.retry_after) == expected


def test_fcm_non_json_error_keeps_the_http_code() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="<html>bad</html>")

    [o] = run(via_mock(handler, fcm("http://fcm.test"), [msg(1, "k", channel="push")]))
    assert (o.status, o.code) == ("rejected", "HTTP-400")


# -- SMTP -------------------------------------------------------------------------------


def mail(i: int, prefix: str, to: str = "kim@example.com") -> Claimed:
    return msg(
        i,
        prefix,
        channel="email",
        message_type="EMAIL",
        recipient=to,
        subject="[UMS은행] 거래 안내",
        body=f"김민수님, 본문 {i}",
        html=f"<p>김민수님, <b>본문 {i}</b></p>",
    )


def test_smtp_conversation_with_the_simulator(
    gateway: GatewaySimulator, prefix: str, ledger_rows: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured: list[bytes] = []
    original = LedgerSmtpHandler.handle_DATA

    async def capture(self: LedgerSmtpHandler, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        captured.append(content if isinstance(content, bytes) else content.encode())
        return await original(self, server, session, envelope)

    monkeypatch.setattr(LedgerSmtpHandler, "handle_DATA", capture)
    adapter = SmtpAdapter("127.0.0.1", gateway.smtp_port, "noreply@bank.example")
    batch = [mail(1, prefix), mail(2, prefix, "lee@bounce.example"), mail(3, prefix)]
    outcomes = run(adapter.send(batch))

    # A bounce is not known at DATA time: it comes back later as a failed receipt.
    assert [(o.message_id, o.status) for o in outcomes] == [(i, "accepted") for i in (1, 2, 3)]
    rows = {r["clientKey"]: r for r in ledger_rows(prefix)}
    assert set(rows) == {f"{prefix}{i}" for i in (1, 2, 3)}
    assert rows[f"{prefix}1"]["body"].strip() == "김민수님, 본문 1"
    assert rows[f"{prefix}1"]["subject"] == "[UMS은행] 거래 안내"
    assert rows[f"{prefix}2"]["outcome"] == "failed"

    mine = [
        m
        for m in (message_from_bytes(raw, policy=policy.default) for raw in captured)
        if str(m.get("X-UMS-Idempotency-Key", "")).startswith(prefix)
    ]
    assert len(mine) == 3
    for parsed in mine:
        assert isinstance(parsed, EmailMessage)
        assert parsed.get_content_type() == "multipart/alternative"
        plain = parsed.get_body(preferencelist=("plain",))
        html = parsed.get_body(preferencelist=("html",))
        assert plain is not None and html is not None
        i = str(parsed["X-UMS-Idempotency-Key"]).removeprefix(prefix)
        assert plain.get_content().strip() == f"김민수님, 본문 {i}"
        assert html.get_content().strip() == f"<p>김민수님, <b>본문 {i}</b></p>"
        assert parsed["From"] == "noreply@bank.example"
        assert parsed["Message-ID"] and parsed["Date"]


def test_smtp_resend_is_a_duplicate(
    gateway: GatewaySimulator, prefix: str, ledger_rows: Any, ledger_summary: Any
) -> None:
    adapter = SmtpAdapter("127.0.0.1", gateway.smtp_port, "noreply@bank.example")
    run(adapter.send([mail(1, prefix)]))
    [again] = run(adapter.send([mail(1, prefix)]))
    assert again.status == "accepted"
    assert len(ledger_rows(prefix)) == 1
    assert ledger_summary(prefix)["email"]["duplicates_ignored"] == 1


def test_smtp_text_only_is_not_multipart() -> None:
    adapter = SmtpAdapter("127.0.0.1", 25, "noreply@bank.example")
    m = adapter._mime(msg(1, "k", channel="email", recipient="a@example.com"))
    assert m.get_content_type() == "text/plain"
    assert m["X-UMS-Idempotency-Key"] == "k1"


def test_smtp_unreachable_server_is_retry() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    adapter = SmtpAdapter("127.0.0.1", port, "noreply@bank.example", timeout=5)
    outcomes = run(adapter.send([mail(1, "k"), mail(2, "k")]))
    assert [(o.status, o.code) for o in outcomes] == [("retry", "E-TRANSPORT")] * 2
