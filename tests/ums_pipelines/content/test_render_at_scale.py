"""Issue 5, Done-when 1: one content item, seven channel variants and five tag kinds,
rendered through the bulk send path for 100,000 customers with no template error, each
message passing its channel's checks; a customer missing a tag fails alone, with a reason.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image as PilImage
from sqlalchemy import func, insert, select

from ums_pipelines.channels.checks import check_message
from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.payload import Button, DmLetter, Image, Payload, PushOptions
from ums_pipelines.compliance.approvals import approve_job
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.content.spec import VariableSpec
from ums_pipelines.dispatch.bulk import ChunkWork, claim_chunk, materialize_chunk, plan_chunks
from ums_pipelines.jobs import (
    ChannelVariant,
    SendPlan,
    register_job,
    register_sender_number,
    register_template,
)
from ums_pipelines.lanes import Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.content import ShortLink
from ums_pipelines.store.models import Consent, Customer, Message
from ums_pipelines.targets import extract_targets

CHANNELS = ("sms", "rcs", "friendtalk", "brand", "push", "email", "dm")
SENDER = "15881234"
CODE = re.compile(r"https?://[^/\s\"<>]+/([A-Za-z0-9]{12})\b")


def _jpeg(color: str) -> bytes:
    out = io.BytesIO()
    PilImage.new("RGB", (640, 480), color).save(out, "JPEG", quality=80)
    return out.getvalue()


def _content(settings: Settings) -> tuple[list[VariableSpec], list[ChannelVariant]]:
    content = ContentStore(settings.content_dir)
    gangnam, other = content.put_image(_jpeg("navy")), content.put_image(_jpeg("teal"))
    specs = [
        VariableSpec.model_validate(s)
        for s in (
            {"name": "name", "kind": "customer", "max_length": 20},  # required: no default
            {"name": "branch", "kind": "customer", "required": False},
            {"name": "event_date", "kind": "job", "type": "date"},
            {
                "name": "link",
                "kind": "short_url",
                "target": "https://m.bank.example/event/winter?b={{ branch }}",
            },
            {"name": "fb", "kind": "feedback_url"},
            {
                "name": "hero",
                "kind": "image",
                "field": "branch",
                "choices": {"강남지점": gangnam.ref, "default": other.ref},
            },
        )
    ]
    slot = Image(ref="slot:hero", content_type="image/jpeg", size_bytes=0, width=0, height=0)
    button = Button(type="WL", name="이벤트 보기", url_mobile="{{ link }}", url_pc="{{ link }}")
    footer = "무료수신거부 080-123-4567"
    text = "(광고)[UMS은행] {{ name }}님, {{ event_date }} 겨울 이벤트 {{ link }}"
    variants = [
        ChannelVariant(
            "sms",
            text + " 의견 {{ fb }}\n" + footer,
            "(광고) UMS은행 이벤트",
            payload=Payload(images=[slot]),
        ),
        ChannelVariant("rcs", text + "\n의견 남기기 {{ fb }}\n" + footer),
        ChannelVariant(
            "friendtalk",
            "(광고) {{ name }}님, {{ event_date }} 겨울 이벤트를 확인하세요.",
            payload=Payload(
                kakao_type="IMAGE",
                images=[slot.model_copy(update={"link": "{{ link }}"})],
                buttons=[button],
            ),
        ),
        ChannelVariant(
            "brand",
            "(광고) {{ name }}님, {{ event_date }} 겨울 이벤트를 확인하세요.\n" + footer,
            payload=Payload(buttons=[button]),
        ),
        ChannelVariant(
            "push",
            "(광고) {{ name }}님, {{ event_date }} 이벤트를 확인하세요. 수신거부: 설정>알림",
            "UMS은행 이벤트",
            payload=Payload(push=PushOptions(data={"url": "{{ link }}", "feedback": "{{ fb }}"})),
        ),
        ChannelVariant(
            "email",
            "{{ name }}님, {{ event_date }} 겨울 이벤트 {{ link }}\n의견: {{ fb }}\n"
            "수신을 원하지 않으시면 https://bank.example/unsubscribe 에서 거부하세요.",
            "(광고) [UMS은행] {{ name }}님, 겨울 이벤트",
            '<p>{{ name }}님</p><img src="{{ hero }}" alt="이벤트">'
            '<p><a href="{{ link }}">이벤트 보기</a> · <a href="{{ fb }}">의견</a></p>'
            '<p><a href="https://bank.example/unsubscribe">수신거부</a></p>',
        ),
        ChannelVariant(
            "dm",
            "(광고) {{ name }} 고객님,\n{{ event_date }} 겨울 이벤트 안내\n자세히: {{ link }}",
            payload=Payload(
                dm=DmLetter(
                    postcode="04524",
                    address="서울특별시 중구 세종대로 110",
                    address_detail="UMS은행 {{ branch }} 보관",
                    name="{{ name }}",
                )
            ),
        ),
    ]
    return specs, variants


def _https(settings: Settings) -> Settings:
    # Kakao buttons take https links only: the production short-link domain.
    return settings.model_copy(update={"shortlink_base_url": "https://bnk.kr/"})


def _seed(store: Store, n: int, nameless_every: int) -> None:
    now = datetime.now(UTC)
    with store.session() as session:
        for start in range(0, n, 20_000):
            batch = range(start, min(n, start + 20_000))
            session.execute(
                insert(Customer),
                [
                    {
                        "customer_id": f"R{i:07d}",
                        "name": None if i % nameless_every == 7 else f"고객{i}",
                        "phone": f"010{30000000 + i:08d}",
                        "email": f"r{i}@example.com",
                        "push_token": f"tok-{i}",
                        "push_platform": "fcm",
                        "preferred_channel": CHANNELS[i % len(CHANNELS)],
                        "branch": "강남지점" if i % 2 else "종로지점",
                        "deceased": False,
                        "source_changed_at": now,
                        "updated_at": now,
                    }
                    for i in batch
                ],
            )
            session.execute(
                insert(Consent),
                [
                    {
                        "customer_id": f"R{i:07d}",
                        "channel": CHANNELS[i % len(CHANNELS)],
                        "purpose": "ad",
                        "granted": True,
                        "consented_at": now,
                        "source": "test",
                    }
                    for i in batch
                ],
            )


def _render_all(store: Store, settings: Settings, n: int, nameless_every: int) -> str:
    specs, variants = _content(settings)
    _seed(store, n, nameless_every)
    with store.session() as session:
        register_sender_number(session, SENDER, "고객센터", actor="test")
        register_template(
            session,
            code="winter-event",
            name="겨울 이벤트",
            purpose=Purpose.ADVERTISING,
            variables=specs,
            variants=variants,
            actor="test",
        )
        register_job(
            session,
            job_id="winter",
            name="겨울 이벤트",
            template_code="winter-event",
            routes={c: [c] for c in CHANNELS},
            sender_number=SENDER,
            department="디지털마케팅부",
            actor="test",
            plan=SendPlan(chunk_size=5_000),
            params={"event_date": "2026-12-20"},
        )
    extract_targets(store, settings, "winter")
    with store.session() as session:
        # An advertising job: its department head approves what "test" wrote.
        grant_role(session, "head", "approver", "디지털마케팅부", granted_by="admin")
        approve_job(session, "winter", "head")
    plan_chunks(store, "winter")
    lease = timedelta(minutes=10)
    while True:
        with store.session() as session:
            work: ChunkWork | None = claim_chunk(session, "winter", "t", lease, datetime.now(UTC))
        if work is None:
            return "winter"
        materialize_chunk(store, settings, "winter", work, "t", lease)


def _check(store: Store, n: int, nameless_every: int) -> None:
    with store.session() as session:
        rows = session.execute(
            select(
                Message.id,
                Message.idempotency_key,
                Message.customer_id,
                Message.channel,
                Message.message_type,
                Message.state,
                Message.error_code,
                Message.error_reason,
                Message.subject,
                Message.body,
                Message.html_body,
                Message.payload,
            ).where(Message.job_id == "winter")
        ).all()
        links = session.execute(select(ShortLink.message_key, ShortLink.code)).all()
        link_count = session.scalar(select(func.count()).select_from(ShortLink))
    assert len(rows) == n
    failed = [r for r in rows if r.state == "failed"]
    nameless = {f"R{i:07d}" for i in range(n) if i % nameless_every == 7}
    assert {r.customer_id for r in failed} == nameless
    assert {(r.error_code, r.error_reason) for r in failed} == {
        ("E-RENDER", "name: no value for this customer (customer)")
    }
    good = [r for r in rows if r.state != "failed"]
    assert Counter(r.channel for r in good).keys() == set(CHANNELS)
    codes_by_key: dict[str, set[str]] = {}
    for key, code in links:
        codes_by_key.setdefault(key, set()).add(code)
    assert link_count == len(links) == len({c for _, c in links})  # codes never reused
    assert not codes_by_key.keys() & {r.idempotency_key for r in failed}  # no link, no send
    for r in good:
        text = " ".join(filter(None, (r.subject, r.body, r.html_body, str(r.payload or ""))))
        assert set(CODE.findall(text)) == codes_by_key[r.idempotency_key], r.channel
        assert "{{" not in text and "slot:" not in text
    # The checks again, from the stored columns, on a sample of each channel.
    for channel in CHANNELS:
        for r in [r for r in good if r.channel == channel][:40]:
            kind = "mms" if r.message_type == "MMS" else channel
            result = check_message(
                kind if channel == "sms" else channel,
                r.body,
                subject=r.subject,
                purpose="advertising",
                payload=Payload.from_json(r.payload) if r.payload else None,
                sender=SENDER,
            )
            assert result.violations == [], (channel, result.violations)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_one_item_renders_for_100000_customers(store: Store, settings: Settings) -> None:
    settings = _https(settings)
    _render_all(store, settings, 100_000, nameless_every=1_000)
    _check(store, 100_000, nameless_every=1_000)


def test_the_same_on_both_stores(store: Store, settings: Settings) -> None:
    settings = _https(settings)
    _render_all(store, settings, 1_400, nameless_every=100)
    _check(store, 1_400, nameless_every=100)
