"""One message of each provider through the real adapters to the running simulator; what
the simulator recorded must match the provider's wire-format schema (schemas/)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.payload import DmLetter, Payload, PushOptions
from ums_pipelines.channels.providers import build_adapters, make_client
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.gateway_sim import GatewaySimulator

SCHEMAS = Path(__file__).parent / "schemas"
TOKEN = "0f" * 32


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(loaded)
    return loaded


def row(
    key: str,
    channel: str,
    kind: str,
    recipient: str,
    body: str,
    *,
    subject: str | None = None,
    html: str | None = None,
    payload: Payload | None = None,
    country: str | None = None,
) -> Claimed:
    return Claimed(
        id=abs(hash(key)) % 10**9,
        idempotency_key=key,
        channel=channel,
        message_type=kind,
        recipient=recipient,
        sender="15881234",
        provider_template_code=None,
        subject=subject,
        body=body,
        html_body=html,
        attempts=1,
        priority=20,
        payload=payload.to_json() if payload is not None else None,
        country=country,
    )


def send(bank: Any, channel: str, rows: Sequence[Claimed]) -> list[SendOutcome]:
    async def go() -> list[SendOutcome]:
        async with make_client() as client:
            return await build_adapters(client, bank.settings)[channel].send(rows)

    return asyncio.run(go())


@pytest.fixture
def wired(sim_bank: Any, gateway: GatewaySimulator) -> Any:
    sim_bank.settings = sim_bank.settings.model_copy(
        update={"apns_url": gateway.apns_url, "intl_enabled": True, "intl_countries": "US,JP"}
    )
    return sim_bank


@pytest.fixture
def key() -> str:
    return f"wire{uuid.uuid4().hex[:10]}."


def recorded(gateway: GatewaySimulator, key: str) -> Any:
    response = httpx.get(f"{gateway.base_url}/ledger/v1/wire/{key}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


PUSH = PushOptions(
    data={"kind": "deposit"}, badge=1, sound="default", collapse_key="bal", ttl_s=600
)


def test_fcm_and_apns_share_the_push_channel(
    wired: Any, gateway: GatewaySimulator, key: str
) -> None:
    payload = Payload(push=PUSH)
    rows = [
        row(
            f"{key}f",
            "push",
            "FCM",
            "fcm-token-1",
            "입금 10,000원",
            subject="입금",
            payload=payload,
        ),
        row(f"{key}a", "push", "APNS", TOKEN, "입금 10,000원", subject="입금", payload=payload),
    ]
    outcomes = send(wired, "push", rows)
    assert [o.status for o in outcomes] == ["accepted", "accepted"], outcomes
    fcm = recorded(gateway, f"{key}f")
    jsonschema.validate(fcm, schema("fcm"))
    assert fcm["message"]["android"] == {
        "priority": "HIGH",
        "collapse_key": "bal",
        "ttl": "600s",
        "notification": {"sound": "default", "notification_count": 1},
    }
    apns = recorded(gateway, f"{key}a")
    jsonschema.validate(apns, schema("apns"))
    assert apns["headers"]["apns-collapse-id"] == "bal"
    assert apns["payload"]["kind"] == "deposit" and apns["payload"]["aps"]["badge"] == 1
    # The apns-id is the notification's, the same on a retry.
    assert outcomes[1].provider_message_id == apns["headers"]["apns-id"]


def test_apns_unregistered_token_is_retired_and_falls_back(wired: Any, key: str) -> None:
    (outcome,) = send(wired, "push", [row(f"{key}u", "push", "APNS", "invalid-" + TOKEN, "x")])
    assert (outcome.status, outcome.code, outcome.retire_token) == (
        "rejected",
        "Unregistered",
        True,
    )


def test_email_with_attachment_is_mime_multipart(
    wired: Any, gateway: GatewaySimulator, key: str
) -> None:
    content = ContentStore(wired.settings.content_dir)
    statement = content.put_attachment(b"%PDF-1.4 " + b"0" * 2000, "거래내역서.pdf")
    rows = [
        row(
            f"{key}e",
            "email",
            "EMAIL",
            "kim@example.com",
            "거래내역서를 첨부합니다.",
            subject="[UMS은행] 거래내역서",
            html="<p>거래내역서를 첨부합니다.</p>",
            payload=Payload(attachments=[statement]),
        )
    ]
    (outcome,) = send(wired, "email", rows)
    assert outcome.status == "accepted", outcome
    mime = recorded(gateway, f"{key}e")
    jsonschema.validate(mime, schema("email"))
    assert mime["attachments"] == [
        {"filename": "거래내역서.pdf", "content_type": "application/pdf", "size": 2009}
    ]


def test_blocked_attachment_is_refused_with_the_smtp_code(wired: Any, key: str) -> None:
    content = ContentStore(wired.settings.content_dir)
    program = content.put_attachment(b"MZ" + b"\0" * 100, "setup.exe")
    rows = [
        row(
            f"{key}x",
            "email",
            "EMAIL",
            "kim@example.com",
            "본문",
            subject="s",
            payload=Payload(attachments=[program]),
        )
    ]
    (outcome,) = send(wired, "email", rows)
    assert (outcome.status, outcome.code) == ("rejected", "554")


def test_dm_batch_reaches_the_print_vendor(wired: Any, gateway: GatewaySimulator, key: str) -> None:
    letters = [
        row(
            f"{key}d{i}",
            "dm",
            "DM",
            "06236 서울특별시 강남구 테헤란로 123",
            f"김민수 고객님,\n{i + 1}월 거래 내역을 안내드립니다.",
            payload=Payload(
                dm=DmLetter(
                    postcode="06236",
                    address="서울특별시 강남구 테헤란로 123",
                    address_detail="4층",
                    name="김민수",
                )
            ),
        )
        for i in range(2)
    ]
    too_long = row(
        f"{key}dx",
        "dm",
        "DM",
        "x",
        "본문",
        payload=Payload(dm=DmLetter(postcode="06236", address="가" * 61, name="김민수")),
    )
    outcomes = send(wired, "dm", [*letters, too_long])
    assert [o.status for o in outcomes] == ["accepted", "accepted", "rejected"], outcomes
    assert outcomes[2].code == "E-DM-FIELD" and "address: 122 bytes" in (outcomes[2].reason or "")
    for i in range(2):
        parsed = recorded(gateway, f"{key}d{i}")
        jsonschema.validate(parsed, schema("dm"))
        assert parsed["record"]["seq"] == str(i + 1)


def test_international_sms_goes_to_the_international_api(
    wired: Any, gateway: GatewaySimulator, key: str
) -> None:
    rows = [
        row(f"{key}i", "sms", "INTL_SMS", "+14155552671", "Deposit received 입금", country="US"),
        row(f"{key}g", "sms", "INTL_SMS", "+447400123456", "Hello", country="GB"),
    ]
    outcomes = send(wired, "sms", rows)
    assert [(o.status, o.code) for o in outcomes] == [
        ("accepted", None),
        ("rejected", "E-INTL-COUNTRY"),
    ]
    intl = recorded(gateway, f"{key}i")
    jsonschema.validate(intl, schema("intl_sms"))
    assert (intl["to"], intl["encoding"]) == ("+14155552671", "UCS-2")


@pytest.mark.parametrize("name", ["fcm", "apns", "email", "dm", "intl_sms"])
def test_schemas_reject_a_wrong_shape(name: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"unexpected": ""}, schema(name))
