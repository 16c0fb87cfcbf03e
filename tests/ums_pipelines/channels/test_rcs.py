"""RCS Biz Center: the adapter against the simulator's rules, codes and receipts."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image as PilImage

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.errors import classify
from ums_pipelines.channels.payload import Button, Payload, RcsOptions
from ums_pipelines.channels.rcs import RcsAdapter, rcs_button, rcs_message
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig, codes, rules

CONFIG = SimConfig(latency_ms=(0, 0), receipt_delay_ms=0, failure_rate=0.0, rcs_incapable_rate=0.4)


@pytest.fixture(scope="module")
def sim() -> Iterator[GatewaySimulator]:
    with GatewaySimulator(CONFIG) as simulator:
        yield simulator


@pytest.fixture
def content(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "content")


def claimed(key: str, kind: str, body: str, **fields: Any) -> Claimed:
    values: dict[str, Any] = {
        "id": abs(hash(key)) % 10**9,
        "idempotency_key": key,
        "channel": "rcs",
        "message_type": kind,
        "recipient": "01012345678",
        "sender": "15881234",
        "provider_template_code": None,
        "subject": None,
        "body": body,
        "html_body": None,
        "attempts": 1,
    }
    return Claimed(**(values | fields))


def send(
    sim: GatewaySimulator, content: ContentStore, rows: Sequence[Claimed], token: str = "t"
) -> list[SendOutcome]:
    async def go() -> list[SendOutcome]:
        async with httpx.AsyncClient(timeout=10) as client:
            adapter = RcsAdapter(client, sim.base_url, token, "BR.ums", content)
            return await adapter.send(rows)

    return asyncio.run(go())


def key() -> str:
    return f"rcs{uuid.uuid4().hex[:12]}"


def test_each_type_is_accepted_and_a_repeated_key_is_not_sent_twice(
    sim: GatewaySimulator, content: ContentStore
) -> None:
    image = content.put_image(_jpeg())
    template = RcsOptions(
        rcs_type="TEMPLATE", message_base_id="UBR.t1", template_variables={"a": "1"}
    )
    rows = [
        claimed(key(), "RCS_SMS", "입금 안내"),
        claimed(key(), "RCS_LMS", "안내 " * 200, subject="제목"),
        claimed(key(), "RCS_MMS", "사진", payload=Payload(images=[image]).to_json()),
        claimed(key(), "RCS_TEMPLATE", "입금 1", payload=Payload(rcs=template).to_json()),
    ]
    first = send(sim, content, rows)
    again = send(sim, content, rows[:1])
    assert [o.status for o in first] == ["accepted"] * 4, [o.reason for o in first]
    assert again[0].status == "accepted"
    assert again[0].provider_message_id == first[0].provider_message_id
    rows_in_ledger = httpx.get(
        f"{sim.base_url}/ledger/v1/messages", params={"keyPrefix": rows[0].idempotency_key}
    ).json()["messages"]
    assert len(rows_in_ledger) == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"sender": "01098765432"}, codes.RCS_INVALID_CHATBOT),  # 010 numbers cannot send RCS
        ({"body": "가" * 101}, codes.RCS_OVER_SIZE),  # RCS SMS: 100 characters
        ({"recipient": "0212345678"}, codes.RCS_INVALID_MDN),
        ({"body": "(광고) 적금 안내"}, codes.RCS_INVALID_ATTRIBUTE),  # no 080 footer
        (
            {
                "message_type": "RCS_TEMPLATE",
                "payload": {"rcs": {"rcs_type": "TEMPLATE", "message_base_id": "bogus"}},
            },
            codes.RCS_INVALID_MESSAGEBASE,
        ),
    ],
)
def test_refusals_carry_rcs_codes_and_their_class(
    sim: GatewaySimulator, content: ContentStore, fields: dict[str, Any], code: str
) -> None:
    row = claimed(key(), "RCS_SMS", "안내")
    row = claimed(
        row.idempotency_key, fields.pop("message_type", "RCS_SMS"), **({"body": "안내"} | fields)
    )
    (outcome,) = send(sim, content, [row])
    assert (outcome.status, outcome.code) == ("rejected", code), outcome.reason
    assert outcome.fall_back == classify(codes.RCS, code).falls_back


def test_lms_limit_is_1300_characters(sim: GatewaySimulator, content: ContentStore) -> None:
    ok, over = (claimed(key(), "RCS_LMS", "가" * n, subject="제목") for n in (1300, 1301))
    assert [o.code for o in send(sim, content, [ok, over])] == [None, codes.RCS_OVER_SIZE]


def test_media_must_be_uploaded_and_within_1_mb(sim: GatewaySimulator) -> None:
    auth = {"Authorization": "Bearer t"}
    big = io.BytesIO()
    PilImage.effect_noise((1200, 1200), 100).convert("RGB").save(big, "BMP")
    assert len(big.getvalue()) > 1024 * 1024
    response = httpx.post(
        f"{sim.base_url}/rcs/v1/files", files={"file": ("a.bmp", big.getvalue())}, headers=auth
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "64303"
    body = rcs_message(claimed(key(), "RCS_MMS", "사진"), Payload(), "BR.ums", media="Rdeadbeef")
    answer = httpx.post(f"{sim.base_url}/rcs/v1/messages", json=body, headers=auth)
    assert answer.status_code == 400 and "media" in answer.json()["error"]["message"]


def test_no_rcs_handset_fails_at_the_carrier_for_the_configured_share(
    sim: GatewaySimulator, content: ContentStore
) -> None:
    prefix = key()
    numbers = [f"0107{i:07d}" for i in range(40)]
    rows = [claimed(f"{prefix}.{i}", "RCS_SMS", "안내", recipient=n) for i, n in enumerate(numbers)]
    assert all(o.status == "accepted" for o in send(sim, content, rows))
    found = httpx.get(
        f"{sim.base_url}/ledger/v1/messages", params={"keyPrefix": prefix, "limit": 100}
    ).json()["messages"]
    failed = {m["recipient"] for m in found if m["code"] == codes.RCS_NOT_CAPABLE}
    expected = {
        n for n in numbers if rules.fraction(CONFIG.seed, "rcs", n) < CONFIG.rcs_incapable_rate
    }
    assert failed == expected and 0 < len(failed) < len(numbers)
    assert classify(codes.RCS, codes.RCS_NOT_CAPABLE).kind == "fall_back"


def test_missing_credentials_are_a_configuration_error(
    sim: GatewaySimulator, content: ContentStore
) -> None:
    async def go() -> list[SendOutcome]:
        async with httpx.AsyncClient(timeout=10) as client:
            adapter = RcsAdapter(client, sim.base_url, "t", "BR.ums", content)
            adapter.headers = {}
            return await adapter.send([claimed(key(), "RCS_SMS", "안내")])

    (outcome,) = asyncio.run(go())
    assert (outcome.status, outcome.code, outcome.fall_back) == ("rejected", "HTTP-401", False)


@pytest.mark.parametrize(
    ("button", "action"),
    [
        (
            Button(type="openUrl", name="보기", url_mobile="https://b.example"),
            {"urlAction": {"openUrl": {"url": "https://b.example"}}},
        ),
        (
            Button(type="dial", name="전화", phone="15881234"),
            {"dialerAction": {"dialPhoneNumber": {"phoneNumber": "15881234"}}},
        ),
        (
            Button(type="copy", name="복사", url_mobile="CODE-1"),
            {"clipboardAction": {"copyToClipboard": {"text": "CODE-1"}}},
        ),
    ],
)
def test_buttons_become_suggestions(button: Button, action: dict[str, Any]) -> None:
    assert rcs_button(button) == {"suggestions": [{"action": action, "displayText": button.name}]}


def _jpeg() -> bytes:
    out = io.BytesIO()
    PilImage.new("RGB", (64, 48), (10, 20, 30)).save(out, "JPEG")
    return out.getvalue()


def test_receipts_come_in_stages_relay_carrier_handset(content: ContentStore) -> None:
    config = SimConfig(
        latency_ms=(0, 0), receipt_delay_ms=0, failure_rate=0.0, rcs_incapable_rate=0.0,
        receipt_stages=True,
    )  # fmt: skip
    with GatewaySimulator(config) as staged:
        row = claimed(key(), "RCS_SMS", "안내")
        (outcome,) = send(staged, content, [row])
        assert outcome.status == "accepted"
        receipts: list[dict[str, Any]] = []
        for _ in range(50):
            page = httpx.get(
                f"{staged.base_url}/receipts/v1",
                params={"channel": "rcs"},
                headers={"Authorization": "Bearer t"},
            ).json()["receipts"]
            receipts = [r for r in page if r["clientKey"] == row.idempotency_key]
            if len(receipts) == 3:
                break
            asyncio.run(asyncio.sleep(0.05))
    assert [(r["stage"], r["status"]) for r in receipts] == [
        ("relay", "sent"),
        ("carrier", "sent"),
        ("handset", "delivered"),
    ]
