"""One message of every SMS relay, Kakao and RCS type through the real adapters to the
running simulator; each message the simulator recorded must match its provider's
wire-format schema (schemas/), and a malformed body is refused in the provider's shape."""

from __future__ import annotations

import asyncio
import io
import json
import random
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from PIL import Image as PilImage

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.payload import Button, Image, Payload, RcsOptions
from ums_pipelines.channels.providers import build_adapters, make_client
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.outbox import claim, enqueue_job
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.gateway_sim import GatewaySimulator, codes
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Purpose
from ums_pipelines.targets import extract_targets

SCHEMAS = Path(__file__).parent / "schemas"
AUTH = {"Authorization": "Bearer test-token"}
AD = "(광고) UMS은행 새 적금 안내\n무료수신거부 080-123-4567"


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(loaded)
    return loaded


def jpeg(width: int = 320, height: int = 240) -> bytes:
    out = io.BytesIO()
    PilImage.new("RGB", (width, height), (200, 30, 60)).save(out, "JPEG", quality=80)
    return out.getvalue()


def mobile() -> str:
    # A fresh number per message: a brand message reaches a number once a day.
    return f"010{random.randrange(10**8):08d}"


def row(
    key: str,
    channel: str,
    kind: str,
    body: str,
    *,
    subject: str | None = None,
    payload: Payload | None = None,
    template: str | None = None,
) -> Claimed:
    return Claimed(
        id=abs(hash(key)) % 10**9,
        idempotency_key=key,
        channel=channel,
        message_type=kind,
        recipient=mobile(),
        sender="15881234",
        provider_template_code=template,
        subject=subject,
        body=body,
        html_body=None,
        attempts=1,
        payload=payload.to_json() if payload is not None else None,
    )


def send(bank: Any, channel: str, rows: Sequence[Claimed]) -> list[SendOutcome]:
    async def go() -> list[SendOutcome]:
        async with make_client() as client:
            return await build_adapters(client, bank.settings)[channel].send(rows)

    return asyncio.run(go())


def recorded(gateway: GatewaySimulator, key: str) -> Any:
    response = httpx.get(f"{gateway.base_url}/ledger/v1/wire/{key}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def key() -> str:
    return f"wire{uuid.uuid4().hex[:10]}."


@pytest.fixture
def image(sim_bank: Any) -> Image:
    store = ContentStore(sim_bank.settings.content_dir)
    return store.put_image(jpeg(), link="https://bank.example/event")


def test_sms_lms_mms_match_the_relay_schema(
    sim_bank: Any, gateway: GatewaySimulator, key: str, image: Image
) -> None:
    rows = [
        row(f"{key}s", "sms", "SMS", "잔액 안내"),
        row(f"{key}l", "sms", "LMS", "긴 안내 " * 30, subject="안내"),
        row(
            f"{key}m", "sms", "MMS", "사진 안내", subject="이벤트", payload=Payload(images=[image])
        ),
        row(f"{key}m2", "sms", "MMS", "두 장", payload=Payload(images=[image, image])),
    ]
    outcomes = send(sim_bank, "sms", rows)
    assert [o.status for o in outcomes] == ["accepted"] * 4, [(o.code, o.reason) for o in outcomes]
    validator = schema("sms_relay")
    wires = {
        r.message_type + r.idempotency_key[-1]: recorded(gateway, r.idempotency_key) for r in rows
    }
    for wire in wires.values():
        jsonschema.validate(wire, validator)
    mms = recorded(gateway, f"{key}m")
    assert mms["type"] == "MMS" and mms["subject"] == "이벤트" and len(mms["fileIds"]) == 1
    # The same image is uploaded once and named by the same id.
    assert recorded(gateway, f"{key}m2")["fileIds"] == mms["fileIds"] * 2


def test_alimtalk_matches_its_schema(sim_bank: Any, gateway: GatewaySimulator, key: str) -> None:
    outcomes = send(
        sim_bank, "alimtalk", [row(f"{key}a", "alimtalk", "ALIMTALK", "입금 안내", template="T1")]
    )
    assert outcomes[0].status == "accepted", outcomes
    wire = recorded(gateway, f"{key}a")
    jsonschema.validate(wire, schema("alimtalk"))
    assert wire["templateCode"] == "T1"


BUTTONS = [
    Button(
        type="WL",
        name="자세히",
        url_mobile="https://m.bank.example/p",
        url_pc="https://bank.example/p",
    ),
    Button(type="AL", name="앱 열기", scheme_android="bank://open", scheme_ios="bank://open"),
]


def test_friendtalk_types_match_the_schema(
    sim_bank: Any, gateway: GatewaySimulator, key: str, image: Image
) -> None:
    rows = [
        row(f"{key}t", "friendtalk", "FRIENDTALK_TEXT", AD, payload=Payload(buttons=BUTTONS)),
        row(
            f"{key}i",
            "friendtalk",
            "FRIENDTALK_IMAGE",
            AD,
            payload=Payload(kakao_type="IMAGE", images=[image], buttons=BUTTONS[:1]),
        ),
        row(
            f"{key}w",
            "friendtalk",
            "FRIENDTALK_WIDE",
            "(광고) 새 적금\n무료수신거부 080-123-4567",
            payload=Payload(kakao_type="WIDE", images=[image], buttons=BUTTONS[:1]),
        ),
    ]
    outcomes = send(sim_bank, "friendtalk", rows)
    assert [o.status for o in outcomes] == ["accepted"] * 3, outcomes
    validator = schema("friendtalk")
    wires = [recorded(gateway, r.idempotency_key) for r in rows]
    for wire in wires:
        jsonschema.validate(wire, validator)
    assert [w["messageType"] for w in wires] == ["TEXT", "IMAGE", "WIDE"]
    assert wires[0]["buttons"][1] == {
        "type": "AL",
        "name": "앱 열기",
        "schemeAndroid": "bank://open",
        "schemeIos": "bank://open",
    }
    assert wires[1]["image"]["imageUrl"] == wires[2]["image"]["imageUrl"]


def test_brand_message_matches_the_schema(
    sim_bank: Any, gateway: GatewaySimulator, key: str, image: Image
) -> None:
    rows = [
        row(f"{key}t", "brand", "BRAND", AD, payload=Payload(kakao_type="TEXT", buttons=BUTTONS)),
        row(f"{key}i", "brand", "BRAND", AD, payload=Payload(kakao_type="IMAGE", images=[image])),
    ]
    outcomes = send(sim_bank, "brand", rows)
    assert [o.status for o in outcomes] == ["accepted"] * 2, outcomes
    for r in rows:
        jsonschema.validate(recorded(gateway, r.idempotency_key), schema("brand"))


def test_rcs_types_match_the_schema(
    sim_bank: Any, gateway: GatewaySimulator, key: str, image: Image
) -> None:
    buttons = [
        Button(type="openUrl", name="보기", url_mobile="https://m.bank.example/r"),
        Button(type="dial", name="전화", phone="15881234"),
        Button(type="copy", name="복사", url_mobile="UMS-1234"),
    ]
    template = RcsOptions(
        rcs_type="TEMPLATE", message_base_id="UBR.tx-01", template_variables={"금액": "10,000원"}
    )
    rows = [
        row(f"{key}s", "rcs", "RCS_SMS", "입금 안내", payload=Payload(buttons=buttons[:1])),
        row(
            f"{key}l",
            "rcs",
            "RCS_LMS",
            "긴 안내 " * 40,
            subject="안내",
            payload=Payload(buttons=buttons),
        ),
        row(
            f"{key}m",
            "rcs",
            "RCS_MMS",
            AD,
            subject="이벤트",
            payload=Payload(rcs=RcsOptions(rcs_type="MMS"), images=[image]),
        ),
        row(f"{key}t", "rcs", "RCS_TEMPLATE", "입금 10,000원", payload=Payload(rcs=template)),
    ]
    outcomes = send(sim_bank, "rcs", rows)
    assert [o.status for o in outcomes] == ["accepted"] * 4, [(o.code, o.reason) for o in outcomes]
    validator = schema("rcs")
    wires = [recorded(gateway, r.idempotency_key) for r in rows]
    for wire in wires:
        jsonschema.validate(wire, validator)
    assert [w["messagebaseId"] for w in wires] == ["SS000000", "SL000000", "SMwThM00", "UBR.tx-01"]
    assert wires[2]["header"] == "1" and wires[2]["footer"] == "080-123-4567"
    assert wires[3]["body"] == {"금액": "10,000원"}
    summary = httpx.get(
        f"{gateway.base_url}/ledger/v1/summary", params={"keyPrefix": key}, timeout=10
    ).json()["channels"]["rcs"]
    assert summary["by_type"] == {"RCS_SMS": 1, "RCS_LMS": 1, "RCS_MMS": 1, "RCS_TEMPLATE": 1}


def test_schemas_refuse_what_the_providers_would(sim_bank: Any) -> None:
    # The schemas are not vacuous: each refuses a message its provider refuses.
    bad = {
        "sms_relay": {
            "clientKey": "k",
            "type": "MMS",
            "from": "15881234",
            "to": "01012345678",
            "text": "x",
        },
        "friendtalk": {
            "clientKey": "k",
            "to": "01012345678",
            "messageType": "WIDE",
            "text": "x",
            "adFlag": "Y",
        },
        "brand": {
            "clientKey": "k",
            "to": "01012345678",
            "messageType": "TEXT",
            "text": "x",
            "adFlag": "N",
        },
        "rcs": {
            "clientKey": "k",
            "messagebaseId": "SS000000",
            "brandId": "BR.x",
            "chatbotId": "01012345678",
            "destinationPhoneNumber": "01012345678",
            "header": "0",
            "body": {"description": "x"},
        },
    }
    for name, message in bad.items():
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(message, schema(name))


@pytest.mark.parametrize(
    ("path", "body", "status", "code", "shape"),
    [
        (
            "/sms/v1/messages/batch",
            {
                "messages": [
                    {
                        "clientKey": "k",
                        "type": "MMS",
                        "from": "15881234",
                        "to": "01012345678",
                        "text": "x",
                        "fileIds": "F1",
                    }
                ]
            },
            400,
            "E-REQUEST",
            "relay",
        ),
        (
            "/friendtalk/v2/senders/ums-bank/messages",
            {
                "messages": [
                    {"clientKey": "k", "to": "01012345678", "messageType": "TEXT", "text": "x"}
                ]
            },
            400,
            "E-REQUEST",
            "relay",
        ),
        (
            "/brand/v1/senders/ums-bank/messages",
            {"messages": [{"clientKey": "k", "to": "01012345678", "text": "x", "adFlag": "Y"}]},
            400,
            "E-REQUEST",
            "relay",
        ),
        ("/rcs/v1/messages", {"clientKey": "k", "messagebaseId": "SS000000"}, 400, "64303", "rcs"),
        ("/rcs/v1/messages", "{not json", 400, "64302", "rcs"),
        ("/rcs/v1/messages", "", 400, "64301", "rcs"),
    ],
)
def test_malformed_bodies_are_refused_in_the_provider_shape(
    gateway: GatewaySimulator, path: str, body: Any, status: int, code: str, shape: str
) -> None:
    content = body if isinstance(body, str) else json.dumps(body)
    response = httpx.post(
        f"{gateway.base_url}{path}",
        content=content,
        headers=AUTH | {"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["error"]["code"] == code
    if shape == "rcs":
        assert answer["status"] == status
        assert codes.lookup(codes.RCS, code) is not None
    else:
        assert answer["error"]["field"].startswith("messages[0].")


def test_composed_rows_go_out_in_the_wire_format(
    sim_bank: Any, gateway: GatewaySimulator, image: Image
) -> None:
    """Template -> outbox -> claim -> adapter -> simulator: what compose writes for each
    new type is what the providers take, in their schema."""
    link = Button(
        type="WL", name="{{ name }}님 혜택", url_mobile="https://m.bank.example/{{ customer_id }}"
    )
    rcs_link = Button(type="openUrl", name="혜택 보기", url_mobile="https://m.bank.example/r")
    variants = [
        ChannelVariant("sms", AD, "{{ name }}님 이벤트", payload=Payload(images=[image])),
        ChannelVariant(
            "rcs", AD, "이벤트", payload=Payload(rcs=RcsOptions(rcs_type="LMS"), buttons=[rcs_link])
        ),
        ChannelVariant(
            "friendtalk", AD, payload=Payload(kakao_type="WIDE", images=[image], buttons=[link])
        ),
        ChannelVariant("brand", AD, payload=Payload(kakao_type="TEXT", buttons=[link])),
    ]
    channels = ("sms", "rcs", "friendtalk", "brand")
    suffix = uuid.uuid4().hex[:6]
    for i, channel in enumerate(channels):
        sim_bank.add_customer(
            f"W{suffix}{i}", preferred=channel, phone=mobile(), consents=channels, purpose="ad"
        )
    job_id = sim_bank.register(
        f"wire-{suffix}",
        template_code=f"wire-{suffix}",
        variants=variants,
        routes={c: [c] for c in channels},
        purpose=Purpose.ADVERTISING,
        variables=("name", "customer_id"),
    )
    extract_targets(sim_bank.store, sim_bank.settings, job_id)
    sim_bank.approve(job_id)  # an advertising job: the department head's four-eyes
    enqueue_job(sim_bank.store, sim_bank.settings, job_id)
    with sim_bank.store.session() as session:
        rows = {c: claim(session, c, "me", 10, timedelta(seconds=30), job_id) for c in channels}
    for channel, claimed in rows.items():
        mine = [r for r in claimed if r.idempotency_key.startswith(job_id)]
        assert len(mine) >= 1, (channel, [m.error_reason for m in sim_bank.messages(job_id)])
        outcomes = send(sim_bank, channel, mine)
        assert all(o.status == "accepted" for o in outcomes), [o.reason for o in outcomes]
        name = {"sms": "sms_relay"}.get(channel, channel)
        for r in mine:
            jsonschema.validate(recorded(gateway, r.idempotency_key), schema(name))
    types = {m.channel: m.message_type for m in sim_bank.messages(job_id)}
    assert types == {
        "sms": "MMS",
        "rcs": "RCS_LMS",
        "friendtalk": "FRIENDTALK_WIDE",
        "brand": "BRAND",
    }
