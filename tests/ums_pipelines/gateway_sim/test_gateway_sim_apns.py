"""The simulated APNs provider API over real HTTP/2 (h2c) on loopback."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ums_pipelines.gateway_sim import GatewaySimulator
from ums_pipelines.gateway_sim.apns import APNS_REASONS, ApnsRejection, check_apns

TOPIC = "kr.example.umsbank"
TOKEN = "ab" * 32


def headers(key: str, **extra: str) -> dict[str, str]:
    base = {
        "authorization": "bearer eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJURUFNIn0.c2ln",
        "apns-topic": TOPIC,
        "apns-push-type": "alert",
        "apns-priority": "10",
        "apns-id": str(uuid.uuid4()),
        "Idempotency-Key": key,
    }
    return base | extra


BODY = {"aps": {"alert": {"title": "입금", "body": "10,000원 입금"}, "sound": "default"}}


@pytest.fixture
def h2(sim: GatewaySimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.apns_url, http1=False, http2=True, timeout=10) as client:
        yield client


def test_notification_goes_over_http2_and_is_booked_once(
    sim: GatewaySimulator, h2: httpx.Client, prefix: str
) -> None:
    sent = headers(f"{prefix}1", **{"apns-collapse-id": "balance"})
    first = h2.post(f"/3/device/{TOKEN}", json=BODY | {"kind": "deposit"}, headers=sent)
    again = h2.post(f"/3/device/{TOKEN}", json=BODY, headers=sent | {"apns-id": str(uuid.uuid4())})
    assert first.http_version == "HTTP/2"
    assert first.status_code == again.status_code == 200
    assert first.headers["apns-id"] == sent["apns-id"]
    # A retry is the same notification: the id it was first accepted under comes back.
    assert again.headers["apns-id"] == sent["apns-id"]
    (row,) = sim.ledger.messages("push", key_prefix=prefix)
    assert (row.type, row.recipient, row.subject, row.body) == (
        "APNS",
        TOKEN,
        "입금",
        "10,000원 입금",
    )
    wire = json.loads(sim.ledger.wire(f"{prefix}1") or "")
    assert wire["http_version"] == "2"
    assert wire["headers"]["apns-collapse-id"] == "balance"
    assert wire["payload"]["kind"] == "deposit"
    assert sim.ledger.summary(prefix)["push"]["duplicates_ignored"] == 1


@pytest.mark.parametrize(
    ("change", "token", "reason"),
    [
        ({"authorization": ""}, TOKEN, "MissingProviderToken"),
        ({"authorization": "bearer not-a-jwt"}, TOKEN, "InvalidProviderToken"),
        ({"apns-topic": "other.app"}, TOKEN, "DeviceTokenNotForTopic"),
        ({"apns-priority": "7"}, TOKEN, "BadPriority"),
        ({"apns-push-type": "banner"}, TOKEN, "InvalidPushType"),
        ({"apns-expiration": "tomorrow"}, TOKEN, "BadExpirationDate"),
        ({"apns-collapse-id": "x" * 65}, TOKEN, "BadCollapseId"),
        ({"apns-id": "not-a-uuid"}, TOKEN, "BadMessageId"),
        ({}, "token-1", "BadDeviceToken"),
        ({}, "invalid-" + TOKEN, "Unregistered"),
    ],
)
def test_refusals_carry_apples_reason_and_status(
    sim: GatewaySimulator,
    h2: httpx.Client,
    prefix: str,
    change: dict[str, str],
    token: str,
    reason: str,
) -> None:
    response = h2.post(f"/3/device/{token}", json=BODY, headers=headers(f"{prefix}x") | change)
    assert response.status_code == APNS_REASONS[reason]
    assert response.json()["reason"] == reason
    if reason == "Unregistered":
        assert isinstance(response.json()["timestamp"], int)
    assert sim.ledger.messages("push", key_prefix=prefix) == []


@pytest.mark.parametrize(
    ("size", "status"), [(4096, 200), (4097, 413)], ids=["at-limit", "over-limit"]
)
def test_payload_limit_is_4096_bytes(h2: httpx.Client, prefix: str, size: int, status: int) -> None:
    body = {"aps": {"alert": "x"}, "pad": ""}
    base = len(json.dumps(body, separators=(",", ":")).encode())
    body["pad"] = "p" * (size - base)
    raw = json.dumps(body, separators=(",", ":")).encode()
    assert len(raw) == size
    response = h2.post(f"/3/device/{TOKEN}", content=raw, headers=headers(f"{prefix}s"))
    assert response.status_code == status
    if status == 413:
        assert response.json()["reason"] == "PayloadTooLarge"


@pytest.mark.parametrize("body", [b"", b"{}", b"[1]", b'{"aps": 3}', b"{not json"])
def test_a_payload_without_aps_is_empty(body: bytes) -> None:
    with pytest.raises(ApnsRejection) as caught:
        check_apns(headers("k"), TOKEN, body, TOPIC)
    assert (caught.value.reason, caught.value.status) == ("PayloadEmpty", 400)


def test_push_faults_apply_to_apns(api_for: Any) -> None:
    api = api_for(burst_period_s=1000.0, burst_duration_s=1000.0)
    with httpx.Client(base_url=api.sim.apns_url, http1=False, http2=True) as h2:
        response = h2.post(f"/3/device/{TOKEN}", json=BODY, headers=headers("burst-1"))
    assert response.status_code == 429
    assert response.json()["reason"] == "TooManyRequests"
    assert response.headers["Retry-After"].isdigit()
