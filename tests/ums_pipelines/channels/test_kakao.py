"""FriendTalk and brand message: the adapters against the simulated Kakao gateway."""

from __future__ import annotations

import asyncio
import io
import random
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image as PilImage

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.errors import classify
from ums_pipelines.channels.kakao import BrandMessageAdapter, FriendTalkAdapter, kakao_button
from ums_pipelines.channels.payload import Button, Image, Payload
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig, codes, rules
from ums_pipelines.gateway_sim.kakao_ext import outside_hours

CONFIG = SimConfig(latency_ms=(0, 0), receipt_delay_ms=0, failure_rate=0.0, kakao_non_user_rate=0.4)
AUTH = {"Authorization": "Bearer t"}
AD = "(광고) UMS은행 적금\n무료수신거부 080-123-4567"
FT = "/friendtalk/v2/senders/ums-bank/messages"


@pytest.fixture(scope="module")
def sim() -> Iterator[GatewaySimulator]:
    with GatewaySimulator(CONFIG) as simulator:
        yield simulator


@pytest.fixture
def content(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "content")


def jpeg(kind: str = "JPEG") -> bytes:
    out = io.BytesIO()
    PilImage.new("RGB", (80, 40), (1, 2, 3)).save(out, kind)
    return out.getvalue()


def mobile() -> str:
    return f"010{random.randrange(10**8):08d}"


def row(
    key: str, kind: str, text: str = AD, payload: Payload | None = None, **fields: Any
) -> Claimed:
    values: dict[str, Any] = {
        "id": abs(hash(key)) % 10**9,
        "idempotency_key": key,
        "channel": "brand" if kind == "BRAND" else "friendtalk",
        "message_type": kind,
        "recipient": mobile(),
        "sender": "15881234",
        "provider_template_code": None,
        "subject": None,
        "body": text,
        "html_body": None,
        "attempts": 1,
        "payload": payload.to_json() if payload is not None else None,
    }
    return Claimed(**(values | fields))


def send(
    sim: GatewaySimulator, content: ContentStore, rows: Sequence[Claimed], brand: bool = False
) -> list[SendOutcome]:
    async def go() -> list[SendOutcome]:
        async with httpx.AsyncClient(timeout=10) as client:
            kind = BrandMessageAdapter if brand else FriendTalkAdapter
            return await kind(client, sim.base_url, "t", "ums-bank", content).send(rows)

    return asyncio.run(go())


def key() -> str:
    return f"kk{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize(
    ("kind", "limit", "buttons"),
    [("FRIENDTALK_TEXT", 1000, 5), ("FRIENDTALK_IMAGE", 400, 5), ("FRIENDTALK_WIDE", 76, 1)],
)
def test_friendtalk_text_and_button_limits_per_type(
    sim: GatewaySimulator, content: ContentStore, kind: str, limit: int, buttons: int
) -> None:
    image = [content.put_image(jpeg())] if kind != "FRIENDTALK_TEXT" else []
    button = Button(type="WL", name="보기", url_mobile="https://m.bank.example")
    fits = Payload(images=image, buttons=[button] * buttons)
    more = Payload(images=image, buttons=[button] * (buttons + 1))
    rows = [
        row(key(), kind, "가" * limit, fits),
        row(key(), kind, "가" * (limit + 1), fits),
        row(key(), kind, "가" * limit, more),
    ]
    outcomes = send(sim, content, rows)
    assert [o.code for o in outcomes] == [None, codes.K_MESSAGE_TOO_LONG, codes.K_SIZE]
    assert all(o.status == "rejected" for o in outcomes[1:])


def test_image_types_need_an_uploaded_image(sim: GatewaySimulator, content: ContentStore) -> None:
    (outcome,) = send(sim, content, [row(key(), "FRIENDTALK_IMAGE")])
    assert (outcome.status, outcome.code) == ("rejected", codes.K_INVALID_IMAGE)
    response = httpx.post(
        f"{sim.base_url}/kakao/v2/senders/ums-bank/images",
        files={"image": ("a.gif", jpeg("GIF"))},
        headers=AUTH,
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "3024"


def test_advertising_flag_is_required(sim: GatewaySimulator) -> None:
    message = {"clientKey": key(), "to": mobile(), "messageType": "TEXT", "text": AD}
    response = httpx.post(
        f"{sim.base_url}{FT}", json={"messages": [message | {"adFlag": "N"}]}, headers=AUTH
    )
    (result,) = response.json()["results"]
    assert (result["status"], result["code"]) == ("rejected", codes.K_AD_FLAG)
    assert classify(codes.KAKAO, codes.K_AD_FLAG).falls_back is False


def test_brand_message_once_per_recipient_per_day(
    sim: GatewaySimulator, content: ContentStore
) -> None:
    first = row(key(), "BRAND", payload=Payload(kakao_type="TEXT"))
    same_key = first
    second = row(key(), "BRAND", payload=Payload(kakao_type="TEXT"), recipient=first.recipient)
    other = row(key(), "BRAND", payload=Payload(kakao_type="TEXT"))
    outcomes = send(sim, content, [first, other], brand=True)
    again = send(sim, content, [same_key, second], brand=True)
    assert [o.status for o in outcomes] == ["accepted", "accepted"]
    # The same message again is a duplicate, not a second message; another one is refused.
    assert again[0].status == "accepted"
    assert again[0].provider_message_id == outcomes[0].provider_message_id
    assert (again[1].status, again[1].code, again[1].fall_back) == (
        "rejected",
        codes.K_BRAND_DAILY,
        False,
    )


def test_not_a_kakao_user_fails_at_delivery_for_the_configured_share(
    sim: GatewaySimulator, content: ContentStore
) -> None:
    prefix = key()
    numbers = [f"0109{i:07d}" for i in range(40)]
    rows = [row(f"{prefix}.{i}", "FRIENDTALK_TEXT", recipient=n) for i, n in enumerate(numbers)]
    assert all(o.status == "accepted" for o in send(sim, content, rows))
    found = httpx.get(
        f"{sim.base_url}/ledger/v1/messages", params={"keyPrefix": prefix, "limit": 100}
    ).json()["messages"]
    failed = {m["recipient"] for m in found if m["code"] == codes.K_NOT_A_USER}
    expected = {n for n in numbers if not rules.is_kakao_user(CONFIG, n)}
    assert failed == expected and 0 < len(failed) < len(numbers)
    assert classify(codes.KAKAO, codes.K_NOT_A_USER).kind == "fall_back"


def test_buttons_in_kakao_fields() -> None:
    button = Button(
        type="WL", name="보기", url_mobile="https://m.b.example", url_pc="https://b.example"
    )
    assert kakao_button(button) == {
        "type": "WL",
        "name": "보기",
        "linkMo": "https://m.b.example",
        "linkPc": "https://b.example",
    }


def test_image_link_travels_with_the_image(sim: GatewaySimulator, content: ContentStore) -> None:
    image: Image = content.put_image(jpeg(), link="https://bank.example/event")
    r = row(key(), "FRIENDTALK_IMAGE", payload=Payload(kakao_type="IMAGE", images=[image]))
    (outcome,) = send(sim, content, [r])
    assert outcome.status == "accepted", outcome.reason
    wire = httpx.get(f"{sim.base_url}/ledger/v1/wire/{r.idempotency_key}").json()
    assert wire["image"]["imageLink"] == "https://bank.example/event"
    assert wire["adFlag"] == "Y" and wire["messageType"] == "IMAGE"


@pytest.mark.parametrize(
    ("clock", "open_"),
    [("07:59", False), ("08:00", True), ("20:49", True), ("20:50", False), ("23:00", False)],
)
def test_kakao_advertising_hours_boundaries(clock: str, open_: bool) -> None:
    assert (outside_hours(("08:00", "20:50"), clock) is None) is open_
    assert outside_hours(None, clock) is None


def test_outside_its_hours_kakao_refuses_with_3022(content: ContentStore) -> None:
    # An empty window: closed whatever the time of the run.
    config = SimConfig(latency_ms=(0, 0), kakao_ad_hours=("00:00", "00:00"))
    with GatewaySimulator(config) as closed:
        (outcome,) = send(closed, content, [row(key(), "FRIENDTALK_TEXT")])
    assert (outcome.status, outcome.code) == ("rejected", codes.K_NOT_SEND_TIME)
    # The next leg would break the same night rule: no fall back.
    assert outcome.fall_back is False
