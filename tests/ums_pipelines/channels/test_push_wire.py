"""What the push adapters put on the wire: APNs headers and payload, FCM v1's message."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from ums_pipelines.channels.apns import ApnsAdapter, apns_id, apns_request
from ums_pipelines.channels.fcm import fcm_message
from ums_pipelines.channels.payload import Payload, PushOptions
from ums_pipelines.dispatch.claims import Claimed

NOW = 1_800_000_000.0


def claimed(priority: int = 20, push: PushOptions | None = None, key: str = "job-1.abc") -> Claimed:
    payload = Payload(push=push).to_json() if push is not None else None
    return Claimed(
        id=1,
        idempotency_key=key,
        channel="push",
        message_type="APNS",
        recipient="ab" * 32,
        sender=None,
        provider_template_code=None,
        subject="입금",
        body="10,000원 입금",
        html_body=None,
        attempts=1,
        priority=priority,
        payload=payload,
    )


FULL = PushOptions(
    data={"kind": "deposit", "aps": "x"}, badge=3, sound="ding", collapse_key="bal", ttl_s=60
)


@pytest.mark.parametrize(
    ("priority", "apns", "android"), [(10, "10", "HIGH"), (30, "10", "HIGH"), (40, "5", "NORMAL")]
)
def test_lane_decides_push_priority(priority: int, apns: str, android: str) -> None:
    headers, _ = apns_request(claimed(priority), "kr.example.umsbank")
    assert headers["apns-priority"] == apns
    assert fcm_message(claimed(priority))["android"]["priority"] == android


def test_apns_request_headers_and_payload() -> None:
    headers, body = apns_request(claimed(push=FULL), "kr.example.umsbank", now=NOW)
    assert headers == {
        "apns-push-type": "alert",
        "apns-topic": "kr.example.umsbank",
        "apns-priority": "10",
        "apns-id": apns_id("job-1.abc"),
        "Idempotency-Key": "job-1.abc",
        "apns-expiration": str(int(NOW) + 60),
        "apns-collapse-id": "bal",
    }
    payload = json.loads(body)
    # Custom data sits beside aps and cannot replace it.
    assert payload["aps"] == {
        "alert": {"title": "입금", "body": "10,000원 입금"},
        "badge": 3,
        "sound": "ding",
    }
    assert payload["kind"] == "deposit" and payload["ums_key"] == "job-1.abc"


def test_apns_id_is_a_stable_uuid_per_key() -> None:
    assert apns_id("k1") == apns_id("k1") != apns_id("k2")
    assert len(apns_id("k1")) == 36


def test_fcm_message_full_shape() -> None:
    message = fcm_message(claimed(push=FULL, key="job 한글/1.abc"), now=NOW)
    assert message["data"] == {"kind": "deposit", "aps": "x", "ums_key": "job 한글/1.abc"}
    assert message["android"] == {
        "priority": "HIGH",
        "collapse_key": "bal",
        "ttl": "60s",
        "notification": {"sound": "ding", "notification_count": 3},
    }
    assert message["apns"] == {
        "headers": {
            "apns-priority": "10",
            "apns-collapse-id": "bal",
            "apns-expiration": str(int(NOW) + 60),
        },
        "payload": {"aps": {"sound": "ding", "badge": 3}},
    }
    # FCM's label alphabet: anything else becomes "_".
    assert message["fcm_options"] == {"analytics_label": "job____1"}


def test_fcm_message_without_options_is_minimal() -> None:
    message = fcm_message(claimed())
    assert set(message) == {"token", "notification", "data", "android", "apns", "fcm_options"}
    assert "collapse_key" not in message["android"] and "ttl" not in message["android"]


def answer(status: int, **kwargs: Any) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, **kwargs))


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        (429, "TooManyRequests", ("retry", True, False)),
        (503, "ServiceUnavailable", ("retry", True, False)),
        (403, "InvalidProviderToken", ("rejected", False, False)),
        (410, "Unregistered", ("rejected", True, True)),
        (400, "BadDeviceToken", ("rejected", True, True)),
        (413, "PayloadTooLarge", ("rejected", True, False)),
    ],
)
def test_apns_answers_map_through_the_taxonomy(
    monkeypatch: pytest.MonkeyPatch, status: int, reason: str, expected: tuple[str, bool, bool]
) -> None:
    adapter = ApnsAdapter("http://apns.invalid", "a.b.c", "kr.example.umsbank")
    transport = answer(status, json={"reason": reason}, headers={"Retry-After": "2"})
    monkeypatch.setattr(adapter, "_client", lambda: httpx.AsyncClient(transport=transport))
    (outcome,) = asyncio.run(adapter.send([claimed()]))
    assert (outcome.status, outcome.fall_back, outcome.retire_token) == expected
    assert outcome.code == reason


def test_an_oversized_apns_payload_never_leaves() -> None:
    big = PushOptions(data={"pad": "x" * 4096})
    adapter = ApnsAdapter("http://apns.invalid", "a.b.c", "kr.example.umsbank")
    (outcome,) = asyncio.run(adapter.send([claimed(push=big)]))
    assert (outcome.status, outcome.code) == ("rejected", "PayloadTooLarge")
