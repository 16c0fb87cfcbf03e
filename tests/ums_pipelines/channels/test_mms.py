"""MMS through the relay: upload once, send by file id, the relay's image limits."""

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
from ums_pipelines.channels.mms import MmsAdapter
from ums_pipelines.channels.payload import Image, Payload
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig, codes
from ums_pipelines.gateway_sim.mms import MMS_MAX_BYTES

AUTH = {"Authorization": "Bearer t"}


@pytest.fixture(scope="module")
def sim() -> Iterator[GatewaySimulator]:
    config = SimConfig(latency_ms=(0, 0), receipt_delay_ms=0, failure_rate=0.0)
    with GatewaySimulator(config) as simulator:
        yield simulator


@pytest.fixture
def content(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "content")


def image_bytes(kind: str = "JPEG", size: tuple[int, int] = (64, 48), noise: bool = False) -> bytes:
    out = io.BytesIO()
    img = PilImage.effect_noise(size, 120).convert("RGB") if noise else PilImage.new("RGB", size)
    img.save(out, kind, quality=95) if kind == "JPEG" else img.save(out, kind)
    return out.getvalue()


def mms(key: str, images: list[Image], **fields: Any) -> Claimed:
    values: dict[str, Any] = {
        "id": abs(hash(key)) % 10**9,
        "idempotency_key": key,
        "channel": "sms",
        "message_type": "MMS",
        "recipient": "01012345678",
        "sender": "15881234",
        "provider_template_code": None,
        "subject": "이벤트",
        "body": "사진을 확인하세요",
        "html_body": None,
        "attempts": 1,
        "payload": Payload(images=images).to_json(),
    }
    return Claimed(**(values | fields))


def send(
    sim: GatewaySimulator, content: ContentStore, rows: Sequence[Claimed]
) -> tuple[list[SendOutcome], list[str]]:
    """The outcomes and the paths requested, in order."""
    paths: list[str] = []

    async def note(request: httpx.Request) -> None:
        paths.append(request.url.path)

    async def go() -> list[SendOutcome]:
        async with httpx.AsyncClient(timeout=10, event_hooks={"request": [note]}) as client:
            return await MmsAdapter(client, sim.base_url, "t", content).send(rows)

    return asyncio.run(go()), paths


def key() -> str:
    return f"mms{uuid.uuid4().hex[:12]}"


def test_an_image_is_uploaded_once_for_many_messages(
    sim: GatewaySimulator, content: ContentStore
) -> None:
    image = content.put_image(image_bytes())
    rows = [mms(key(), [image]) for _ in range(5)]
    outcomes, paths = send(sim, content, rows)
    assert [o.status for o in outcomes] == ["accepted"] * 5
    assert paths == ["/sms/v1/files", "/sms/v1/messages/batch"]


@pytest.mark.parametrize(("count", "status"), [(1, "accepted"), (3, "accepted"), (4, "rejected")])
def test_three_images_at_most(
    sim: GatewaySimulator, content: ContentStore, count: int, status: str
) -> None:
    images = [content.put_image(image_bytes(size=(60 + i, 40))) for i in range(count)]
    (outcome,), _ = send(sim, content, [mms(key(), images)])
    assert outcome.status == status
    if status == "rejected":
        assert outcome.code == codes.E_IMAGE


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (image_bytes("PNG"), "JPEG"),
        (image_bytes(size=(1501, 100)), "1501x100"),
        (image_bytes(size=(100, 1441)), "100x1441"),
        (image_bytes(size=(720, 720), noise=True), "bytes"),
        (b"not an image", "readable"),
    ],
)
def test_uploads_outside_the_relay_limits_are_refused(
    sim: GatewaySimulator, data: bytes, fragment: str
) -> None:
    response = httpx.post(
        f"{sim.base_url}/sms/v1/files", files={"file": ("a.jpg", data)}, headers=AUTH
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == codes.E_IMAGE and fragment in error["message"]


def test_limits_at_the_boundary_are_accepted(sim: GatewaySimulator) -> None:
    data = image_bytes(size=(1500, 1440))
    assert len(data) <= MMS_MAX_BYTES
    response = httpx.post(
        f"{sim.base_url}/sms/v1/files", files={"file": ("a.jpg", data)}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    assert response.json()["width"] == 1500


def test_an_unknown_file_id_is_refused_per_message(sim: GatewaySimulator) -> None:
    message = {
        "clientKey": key(),
        "type": "MMS",
        "from": "15881234",
        "to": "01012345678",
        "text": "사진",
        "fileIds": ["Rnothere"],
    }
    response = httpx.post(
        f"{sim.base_url}/sms/v1/messages/batch", json={"messages": [message]}, headers=AUTH
    )
    (result,) = response.json()["results"]
    assert (result["status"], result["code"]) == ("rejected", codes.E_IMAGE)


def test_an_image_missing_from_the_content_store_fails_the_row(
    sim: GatewaySimulator, content: ContentStore, tmp_path: Path
) -> None:
    image = ContentStore(tmp_path / "elsewhere").put_image(image_bytes())
    (outcome,), paths = send(sim, content, [mms(key(), [image])])
    assert (outcome.status, outcome.code) == ("rejected", "E-CONTENT")
    assert paths == []


def test_a_repeated_key_is_acknowledged_not_delivered_twice(
    sim: GatewaySimulator, content: ContentStore
) -> None:
    image = content.put_image(image_bytes())
    row = mms(key(), [image])
    first, _ = send(sim, content, [row])
    again, _ = send(sim, content, [row])
    assert first[0].provider_message_id == again[0].provider_message_id
    summary = httpx.get(
        f"{sim.base_url}/ledger/v1/summary", params={"keyPrefix": row.idempotency_key}
    ).json()["channels"]["sms"]
    assert (summary["accepted"], summary["duplicates_ignored"]) == (1, 1)
    assert summary["by_type"]["MMS"] == 1
