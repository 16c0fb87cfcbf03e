"""compose with a payload: rendered per recipient, stored, and deciding the message type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ums_pipelines.channels.payload import (
    Button,
    DmLetter,
    Image,
    Payload,
    PushOptions,
    RcsOptions,
)
from ums_pipelines.dispatch.bulk import claim_chunk, materialize_chunk, plan_chunks
from ums_pipelines.dispatch.compose import PROVIDERS, compose_row
from ums_pipelines.dispatch.outbox import claim, enqueue_job
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.store import utcnow
from ums_pipelines.store.models import Customer, Job

NOW = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
JPEG = Image(ref="ab" * 32 + ".jpg", content_type="image/jpeg", size_bytes=1000, width=9, height=9)


AD_TEXT = "(광고) UMS은행 새 혜택 안내\n무료수신거부 080-123-4567"
AD_CHANNELS = ("friendtalk", "brand")


def job(purpose: str = "informational") -> Job:
    return Job(
        job_id="job-1",
        name="안내",
        template_id=1,
        template_version=1,
        purpose=purpose,
        priority=3,
        routes={},
        sender_number="15881234",
        department="dept",
        status="targeted",
        created_at=NOW,
        updated_at=NOW,
    )


def customer(**fields: object) -> Customer:
    values: dict[str, object] = {
        "customer_id": "C1",
        "name": "김민수",
        "phone": "01012345678",
        "email": "kim@example.com",
        "push_token": "tok-1",
        "branch": "강남지점",
    }
    return Customer(**(values | fields))


def row(variant: ChannelVariant, **fields: object) -> dict[str, Any]:
    purpose = "advertising" if variant.channel in AD_CHANNELS else "informational"
    composed, _ = compose_row(
        job(purpose), variant, customer(**fields), [variant.channel], 0, NOW, "d"
    )
    return composed


@pytest.mark.parametrize(
    ("channel", "payload", "fields", "expected"),
    [
        ("sms", None, {}, "SMS"),
        ("sms", Payload(images=[JPEG]), {}, "MMS"),
        ("rcs", None, {}, "RCS_SMS"),
        ("rcs", Payload(rcs=RcsOptions(rcs_type="LMS")), {}, "RCS_LMS"),
        ("rcs", Payload(rcs=RcsOptions(rcs_type="MMS"), images=[JPEG]), {}, "RCS_MMS"),
        (
            "rcs",
            Payload(rcs=RcsOptions(rcs_type="TEMPLATE", message_base_id="UBR.tx-01")),
            {},
            "RCS_TEMPLATE",
        ),
        ("friendtalk", None, {}, "FRIENDTALK_TEXT"),
        ("friendtalk", Payload(kakao_type="IMAGE", images=[JPEG]), {}, "FRIENDTALK_IMAGE"),
        ("friendtalk", Payload(kakao_type="WIDE", images=[JPEG]), {}, "FRIENDTALK_WIDE"),
        ("brand", Payload(kakao_type="TEXT"), {}, "BRAND"),
        ("alimtalk", None, {}, "ALIMTALK"),
        ("push", None, {}, "FCM"),
        ("push", None, {"push_platform": "apns"}, "APNS"),
        ("push", None, {"push_platform": "fcm"}, "FCM"),
        ("email", None, {}, "EMAIL"),
        ("dm", Payload(dm=DmLetter(postcode="06236", address="서울 강남구")), {}, "DM"),
    ],
)
def test_message_type_per_channel(
    channel: str, payload: Payload | None, fields: dict[str, object], expected: str
) -> None:
    text = AD_TEXT if channel in AD_CHANNELS else "안내"
    r = row(ChannelVariant(channel, text, payload=payload), **fields)
    assert r["state"] == "queued", r["error_reason"]
    assert r["message_type"] == expected
    assert r["provider"] == ("sim-apns" if expected == "APNS" else PROVIDERS[channel])


def test_plain_sms_has_no_payload_and_is_domestic() -> None:
    r = row(ChannelVariant("sms", "안내"))
    assert r["payload"] is None and r["country"] is None


def test_empty_payload_is_stored_as_null() -> None:
    assert ChannelVariant("sms", "x", payload=Payload()).payload is None


def test_payload_strings_are_rendered_per_recipient() -> None:
    payload = Payload(
        buttons=[
            Button(
                type="openUrl",
                name="{{ name }}님 혜택",
                url_mobile="https://m.bank.example/c/{{ customer_id }}",
                url_pc="https://bank.example/c/{{ customer_id }}",
            )
        ],
        images=[JPEG.model_copy(update={"link": "https://bank.example/{{ branch }}"})],
        rcs=RcsOptions(
            rcs_type="TEMPLATE",
            message_base_id="UBR.tx-01",
            template_variables={"who": "{{ name }}"},
        ),
        variables={"지점": "{{ branch }}"},
    )
    r = row(ChannelVariant("rcs", "{{ name }}님", payload=payload))
    assert r["state"] == "queued", r["error_reason"]
    got = Payload.from_json(r["payload"])
    assert got.buttons[0].name == "김민수님 혜택"
    assert got.buttons[0].url_mobile == "https://m.bank.example/c/C1"
    assert got.buttons[0].url_pc == "https://bank.example/c/C1"
    assert got.images[0].link == "https://bank.example/강남지점"
    assert got.images[0].ref == JPEG.ref  # references are not templates
    assert got.rcs is not None and got.rcs.template_variables == {"who": "김민수"}
    assert got.variables == {"지점": "강남지점"}


def test_push_data_is_rendered() -> None:
    payload = Payload(push=PushOptions(data={"customer": "{{ customer_id }}"}, badge=1))
    r = row(ChannelVariant("push", "안내", payload=payload))
    assert r["payload"] == {"push": {"data": {"customer": "C1"}, "badge": 1}}


@pytest.mark.parametrize(
    ("variant", "code", "fragment"),
    [
        (
            ChannelVariant(
                "rcs", "x", payload=Payload(buttons=[Button(type="WL", name="{{ x }}")])
            ),
            "E-RENDER",
            "rcs.payload.buttons[0].name",
        ),
        (
            ChannelVariant("friendtalk", "x", payload=Payload(kakao_type="CAROUSEL")),
            "E-RENDER",
            "payload.kakao_type",
        ),
        (ChannelVariant("dm", "편지"), "E-ADDRESS", "postal address"),
        # The channel checks on the rendered message: an RCS SMS carries 100 characters.
        (
            ChannelVariant("rcs", "{{ name }}" + "가" * 98, payload=Payload(rcs=RcsOptions())),
            "E-CHECK",
            "100",
        ),
        (
            ChannelVariant("sms", "x", payload=Payload(images=[JPEG] * 4)),
            "E-CHECK",
            "images",
        ),
        (ChannelVariant("sms", "x" * 2001, payload=Payload(images=[JPEG])), "E-RENDER", "2000"),
    ],
)
def test_bad_payload_is_a_failed_row(variant: ChannelVariant, code: str, fragment: str) -> None:
    r = row(variant)
    assert r["state"] == "failed" and r["error_code"] == code
    assert fragment in r["error_reason"]
    assert r["completed_at"] == NOW


@pytest.mark.parametrize("channel", ["rcs", "friendtalk", "brand"])
def test_mobile_channels_reach_the_phone(channel: str) -> None:
    assert row(ChannelVariant(channel, "안내"))["recipient"] == "01012345678"


def test_dm_recipient_is_the_letter_address() -> None:
    letter = DmLetter(postcode="06236", address="서울 강남구 테헤란로 1", address_detail="101호")
    r = row(ChannelVariant("dm", "편지", payload=Payload(dm=letter)))
    assert r["recipient"] == "06236 서울 강남구 테헤란로 1 101호"


# -- through the store: template version, bulk split, claim ----------------------------

RICH = (
    ChannelVariant(
        "rcs",
        "{{ name }}님 새 혜택",
        payload=Payload(
            rcs=RcsOptions(rcs_type="MMS", brand_id="BR.ums", chatbot_id="15881234"),
            images=[JPEG],
            buttons=[
                Button(type="openUrl", name="보기", url_mobile="https://b.example/{{ name }}")
            ],
        ),
    ),
    ChannelVariant("sms", "{{ name }}님 안내"),
)


@pytest.mark.parametrize("path", ["bulk", "enqueue"])
def test_payload_travels_to_the_claimed_snapshot(bank: Any, path: str) -> None:
    bank.add_customer("P1", preferred="rcs", consents=["rcs", "sms"])
    bank.add_customer("P2", preferred="sms", consents=["sms"])
    job_id = bank.targeted(
        template_code="rich", variants=RICH, routes={"rcs": ["rcs", "sms"], "sms": ["sms"]}
    )
    if path == "bulk":
        plan_chunks(bank.store, job_id)
        with bank.store.session() as session:
            chunk = claim_chunk(session, job_id, "me", timedelta(seconds=30), utcnow())
        assert chunk is not None
        claimed = materialize_chunk(
            bank.store, bank.settings, job_id, chunk, "me", timedelta(seconds=30)
        )
    else:
        enqueue_job(bank.store, bank.settings, job_id)
        with bank.store.session() as session:
            claimed = [
                c
                for ch in ("rcs", "sms")
                for c in claim(session, ch, "me", 10, timedelta(seconds=30))
            ]
    by_channel = {c.channel: c for c in claimed}
    rcs, sms = by_channel["rcs"], by_channel["sms"]
    assert rcs.message_type == "RCS_MMS" and rcs.country is None
    got = Payload.from_json(rcs.payload)
    assert got.images == [JPEG] and got.buttons[0].url_mobile == "https://b.example/김민수"
    assert sms.payload is None and sms.message_type == "SMS"


def test_registration_refuses_an_undeclared_variable_in_the_payload(bank: Any) -> None:
    from ums_pipelines.templates import TemplateError

    bad = ChannelVariant(
        "rcs", "안내", payload=Payload(buttons=[Button(type="openUrl", name="{{ balance }}")])
    )
    with pytest.raises(TemplateError, match=r"variants\[rcs\]\.payload\.buttons\[0\]\.name"):
        bank.register(template_code="bad", variants=[bad], routes={"rcs": ["rcs"]})


def test_template_version_keeps_the_payload(bank: Any) -> None:
    from ums_pipelines.jobs import template_variants
    from ums_pipelines.store.models import Template, TemplateVersion

    bank.register(template_code="rich", variants=RICH, routes={"rcs": ["rcs", "sms"]})
    with bank.store.session() as session:
        template = session.query(Template).filter_by(code="rich").one()
        variants = template_variants(session, template.id, 1)
    assert variants["rcs"] == RICH[0] and variants["sms"].payload is None
    # The same content again is no new version.
    bank.register(template_code="rich", variants=RICH, routes={"rcs": ["rcs", "sms"]})
    with bank.store.session() as session:
        versions = session.query(TemplateVersion.version).filter_by(template_id=template.id)
        assert {v for (v,) in versions} == {1}
