"""The send APIs over real loopback HTTP: SMS relay, AlimTalk and FCM."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig, rules

# Fixture types; the class itself lives in conftest.py, which is not importable.
Api = Any
ApiFor = Callable[..., Any]

SMS_PATH = "/sms/v1/messages/batch"
ALIMTALK_PATH = "/alimtalk/v2/senders/bank-sender-key/messages"
PUSH_PATH = "/v1/projects/ums-bank/messages:send"


def test_health(sim: GatewaySimulator) -> None:
    response = httpx.get(f"{sim.base_url}/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("path", [SMS_PATH, ALIMTALK_PATH, PUSH_PATH])
@pytest.mark.parametrize("authorization", [None, "Bearer", "Basic dXNlcjpwdw==", "test-token"])
def test_send_endpoints_need_a_bearer_token(
    api: Api, path: str, authorization: str | None, prefix: str
) -> None:
    headers = {"Idempotency-Key": prefix}
    if authorization is not None:
        headers["Authorization"] = authorization
    bodies = {
        SMS_PATH: {"messages": [api.sms(prefix)]},
        ALIMTALK_PATH: {"templateCode": "T1", "messages": [api.alimtalk(prefix)]},
        PUSH_PATH: api.push_body(),
    }
    response = httpx.post(f"{api.sim.base_url}{path}", json=bodies[path], headers=headers)
    assert response.status_code == 401
    assert "error" in response.json()
    assert api.rows(prefix) == []


def test_batch_results_are_per_message_and_in_request_order(api: Api, prefix: str) -> None:
    results = api.send_sms(
        api.sms(f"{prefix}ok"),
        api.sms(f"{prefix}bad-to", to="0212345678"),
        api.sms(f"{prefix}emoji", text="안녕 😀"),
        api.sms(f"{prefix}long", text="가" * 46),
        api.sms(f"{prefix}lms", text="가" * 46, type="LMS", subject="안내"),
        api.sms(f"{prefix}sender", **{"from": "15889999"}),
    )
    assert [r["clientKey"] for r in results] == [
        f"{prefix}{k}" for k in ("ok", "bad-to", "emoji", "long", "lms", "sender")
    ]
    assert [(r["status"], r["code"]) for r in results] == [
        ("accepted", None),
        ("rejected", "E-RECIPIENT"),
        ("rejected", "E-ENCODING"),
        ("rejected", "E-SIZE"),
        ("accepted", None),
        ("rejected", "E-SENDER"),
    ]
    assert "position 3" in results[2]["reason"]
    assert results[5]["reason"] == "unregistered sender number"
    assert all(r["messageId"] is None for r in results if r["status"] == "rejected")
    rows = api.rows(prefix, "sms")
    assert [(r["clientKey"], r["type"]) for r in rows] == [
        (f"{prefix}ok", "SMS"),
        (f"{prefix}lms", "LMS"),
    ]
    assert rows[1]["subject"] == "안내"


VALID = {"clientKey": "k", "type": "SMS", "from": "15880000", "to": "01012345678", "text": "x"}


def batch(*messages: dict[str, Any]) -> bytes:
    return json.dumps({"messages": list(messages)}).encode()


def without(field: str) -> dict[str, Any]:
    return {k: v for k, v in VALID.items() if k != field}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b'{"messages": []}', "messages"),
        (b'{"messages": {}}', "messages"),
        (batch(VALID, without("clientKey")), "messages[1].clientKey"),
        (batch(VALID | {"type": "XMS"}), "messages[0].type"),
        (batch(VALID | {"clientKey": 5}), "messages[0].clientKey"),
        (batch(without("from")), "messages[0].from"),
    ],
)
def test_malformed_batches_are_refused_naming_the_field(api: Api, body: bytes, field: str) -> None:
    headers = {"Content-Type": "application/json"}
    response = api.http.post(SMS_PATH, content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_batches_over_max_batch_are_refused(api_for: ApiFor, prefix: str) -> None:
    small = api_for(max_batch=3)
    messages = [small.sms(f"{prefix}{n}") for n in range(4)]
    response = small.http.post(SMS_PATH, json={"messages": messages})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "messages"
    assert [r["status"] for r in small.send_sms(*messages[:3])] == ["accepted"] * 3


def test_sms_idempotency_across_batches(api: Api, prefix: str) -> None:
    (first,) = api.send_sms(api.sms(f"{prefix}1"))
    second, other = api.send_sms(api.sms(f"{prefix}1"), api.sms(f"{prefix}2"))
    assert first["status"] == "accepted"
    assert second["status"] == "duplicate"
    assert second["messageId"] == first["messageId"]
    assert other["status"] == "accepted"
    assert [r["clientKey"] for r in api.rows(prefix)] == [f"{prefix}1", f"{prefix}2"]
    assert api.summary(prefix)["sms"]["duplicates_ignored"] == 1


def test_same_key_twice_in_one_batch_is_recorded_once(api: Api, prefix: str) -> None:
    first, second = api.send_sms(api.sms(f"{prefix}1"), api.sms(f"{prefix}1", text="다른 본문"))
    assert (first["status"], second["status"]) == ("accepted", "duplicate")
    assert second["messageId"] == first["messageId"]
    (row,) = api.rows(prefix)
    assert row["body"] == "잔액 안내"


def test_alimtalk_accepts_non_users_and_fails_their_receipts(
    api: Api, shared_config: SimConfig, prefix: str
) -> None:
    numbers = [f"010{n:08d}" for n in range(60)]
    non_user = next(n for n in numbers if not rules.is_kakao_user(shared_config, n))
    user = next(n for n in numbers if rules.is_kakao_user(shared_config, n))
    response = api.send_alimtalk(
        api.alimtalk(f"{prefix}a", non_user),
        api.alimtalk(f"{prefix}b", non_user, "두 번째 안내"),
        api.alimtalk(f"{prefix}c", user) | {"buttons": [{"type": "WL", "name": "확인"}]},
        api.alimtalk(f"{prefix}d", user, "가" * 1001),
        template="DEPOSIT_01",
    )
    assert response.status_code == 200
    statuses = [(r["status"], r["code"]) for r in response.json()["results"]]
    assert statuses == [("accepted", None)] * 3 + [("rejected", "E-SIZE")]
    found = api.all_receipts("alimtalk", prefix)
    # Two different messages to the same non-user: the same verdict both times.
    for key in (f"{prefix}a", f"{prefix}b"):
        receipt = found[key]
        assert (receipt["status"], receipt["code"], receipt["reason"]) == (
            "failed",
            "3018",
            "not a KakaoTalk user",
        )
    expected = rules.handset_outcome(shared_config, f"{prefix}c")
    assert found[f"{prefix}c"]["status"] == expected.status
    assert {(r["type"], r["sender"], r["subject"]) for r in api.rows(prefix, "alimtalk")} == {
        ("ALIMTALK", "bank-sender-key", "DEPOSIT_01")
    }


def test_push_success_and_idempotency(api: Api, prefix: str) -> None:
    first = api.send_push(f"{prefix}p")
    again = api.send_push(f"{prefix}p")
    assert first.status_code == again.status_code == 200
    assert first.json()["name"].startswith("projects/ums-bank/messages/")
    assert again.json() == first.json()
    (row,) = api.rows(prefix, "push")
    assert (row["type"], row["recipient"], row["subject"]) == ("FCM", "device-token-1", "입금")
    assert api.summary(prefix)["push"]["duplicates_ignored"] == 1


def test_invalid_push_token_is_unregistered_and_not_recorded(api: Api, prefix: str) -> None:
    response = api.send_push(f"{prefix}p", api.push_body(token="invalid-token-123"))
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": 404,
            "message": "Requested entity was not found.",
            "status": "NOT_FOUND",
            "details": [
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "UNREGISTERED",
                }
            ],
        }
    }
    assert api.rows(prefix) == []


def test_push_payload_over_4kb_is_invalid(api: Api, prefix: str) -> None:
    fits = api.push_body(body="a" * 3900)
    assert len(json.dumps(fits).encode()) <= 4096
    assert api.send_push(f"{prefix}fits", fits).status_code == 200
    response = api.send_push(f"{prefix}big", api.push_body(body="a" * 4096))
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert [r["clientKey"] for r in api.rows(prefix)] == [f"{prefix}fits"]


@pytest.mark.parametrize(
    ("message", "headers"),
    [
        ({"token": "t"}, {}),
        ({"notification": {"title": "t"}}, {"Idempotency-Key": "x"}),
        ({"token": "t", "data": {"n": 1}}, {"Idempotency-Key": "x"}),
    ],
)
def test_push_bad_requests(api: Api, message: Any, headers: dict[str, str]) -> None:
    response = api.http.post(PUSH_PATH, json={"message": message}, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_injected_503_records_nothing(api_for: ApiFor, prefix: str) -> None:
    flaky = api_for(error_rate_5xx=1.0)
    response = flaky.http.post(SMS_PATH, json={"messages": [flaky.sms(prefix)]})
    assert response.status_code == 503
    response = flaky.send_push(prefix)
    assert (response.status_code, response.json()["error"]["status"]) == (503, "UNAVAILABLE")
    assert flaky.rows(prefix) == []


def test_phone_numbers_never_reach_the_log(
    api: Api, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.send_sms(
        api.sms(f"{prefix}1", to="01098765432"),
        api.sms(f"{prefix}2", to="0298765432"),
    )
    api.send_alimtalk(api.alimtalk(f"{prefix}a", "01087654321"))
    assert "98765432" not in caplog.text
    assert "87654321" not in caplog.text
