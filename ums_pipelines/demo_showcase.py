"""The demo's showcase: one message of every channel and message type, sent in real time.

The bulk job shows volume (SMS/LMS, AlimTalk, FCM push, e-mail to 10,000 customers);
the showcase shows breadth. Three demo customers get, through the real-time intake and
a send agent, an MMS with an image, RCS SMS/LMS/MMS and an RCS template message, a
FriendTalk with an image, a brand message, FCM and APNs pushes, an e-mail with a PDF
attachment, a letter to the print vendor and one international SMS. Each request has a
fixed caller key, so a rerun sends nothing twice.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image as PilImage
from PIL import ImageDraw
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.payload import (
    Button,
    DmLetter,
    Image,
    Payload,
    PushOptions,
    RcsOptions,
)
from ums_pipelines.dispatch.agent import AgentConfig, start_agent
from ums_pipelines.dispatch.intake import submit
from ums_pipelines.jobs import ChannelVariant, register_template
from ums_pipelines.lanes import CHANNELS, TERMINAL_STATES, Lane, Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store
from ums_pipelines.store.models import Customer, Message
from ums_pipelines.store.sendplane import SendRequest

__all__ = [
    "SHOWCASE",
    "SHOWCASE_CALLER",
    "SHOWCASE_COUNTRIES",
    "SHOWCASE_CUSTOMERS",
    "Showcase",
    "ShowcaseOutcome",
    "register_showcase_templates",
    "run_showcase",
    "showcase_job_ids",
    "write_showcase_customers",
]

SHOWCASE_CALLER = "ums-demo"
# The international SMS goes to the United States: the demo allows that country only.
SHOWCASE_COUNTRIES = "US"
_AD = "(광고) UMS은행 {{ name }}님께 드리는 혜택\n무료수신거부 080-123-4567"
_VARIABLES = ("name", "branch", "today", "customer_id")
_CUSTOMERS = (
    # id, name, phone, e-mail, push token, platform, branch. Both mobiles have KakaoTalk
    # and an RCS handset in the simulator (its default seed decides that per number).
    ("S0000001", "이서윤", "01024681358", "seoyun@example.com", "f1" * 32, "fcm", "강남지점"),
    ("S0000002", "박지훈", "01035792469", "jihun@example.net", "a2" * 32, "apns", "여의도지점"),
    # Abroad: a US mobile (the customer master keeps it in E.164).
    ("S0000003", "최유진", "+14155552671", "yujin@example.org", "", "", "종로지점"),
)
SHOWCASE_CUSTOMERS = tuple(c[0] for c in _CUSTOMERS)


@dataclass(frozen=True)
class Showcase:
    """One real-time request: its caller key, template, customer and the type it makes."""

    key: str
    template: str
    customer: str
    channel: str
    message_type: str


SHOWCASE = (
    Showcase("mms-1", "demo-mms", "S0000001", "sms", "MMS"),
    Showcase("intl-sms-1", "demo-intl-sms", "S0000003", "sms", "INTL_SMS"),
    Showcase("rcs-sms-1", "demo-rcs-sms", "S0000001", "rcs", "RCS_SMS"),
    Showcase("rcs-lms-1", "demo-rcs-lms", "S0000001", "rcs", "RCS_LMS"),
    Showcase("rcs-mms-1", "demo-rcs-mms", "S0000001", "rcs", "RCS_MMS"),
    Showcase("rcs-template-1", "demo-rcs-template", "S0000002", "rcs", "RCS_TEMPLATE"),
    Showcase("friendtalk-1", "demo-friendtalk", "S0000001", "friendtalk", "FRIENDTALK_IMAGE"),
    Showcase("brand-1", "demo-brand", "S0000002", "brand", "BRAND"),
    Showcase("push-fcm-1", "demo-push", "S0000001", "push", "FCM"),
    Showcase("push-apns-1", "demo-push", "S0000002", "push", "APNS"),
    Showcase("email-1", "demo-email-statement", "S0000001", "email", "EMAIL"),
    Showcase("dm-1", "demo-dm", "S0000002", "dm", "DM"),
)


@dataclass
class ShowcaseOutcome:
    submitted: int  # requests new in this run (0 on a rerun)
    job_ids: list[str]
    terminal: bool
    seconds: float


def write_showcase_customers(path: Path, now: datetime) -> int:
    """The showcase's customers as a change file: every channel consented, for information
    and advertising, push platforms set; loaded by the same customer sync as the rest."""
    consents = [f"consent_{c}_{p}" for c in CHANNELS for p in ("info", "ad")]
    header = ["customer_id", "changed_at", "name", "phone", "email", "push_token"]
    header += ["push_platform", "preferred_channel", "branch", "deceased", *consents]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    when = now.isoformat(timespec="seconds")
    for cid, name, phone, email, token, platform, branch in _CUSTOMERS:
        contact = [name, phone, email, token, platform, "sms", branch, "N"]
        writer.writerow([cid, when, *contact, *(["Y"] * len(consents))])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(out.getvalue(), encoding="utf-8")
    tmp.replace(path)
    return len(_CUSTOMERS)


def _jpeg() -> bytes:
    # Drawn, not shipped: the same bytes every run, so the content store keeps one file.
    img = PilImage.new("RGB", (640, 480), (18, 58, 122))
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 300, 600, 440), fill=(242, 184, 32))
    draw.ellipse((420, 40, 600, 220), fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def _statement_pdf() -> bytes:
    out = io.BytesIO()
    # invariant: no timestamp or random id in the file, so every run stores the same one.
    canvas = Canvas(out, invariant=True)
    canvas.setFont("Helvetica", 14)
    canvas.drawString(72, 760, "UMS Bank - monthly statement (demo)")
    canvas.setFont("Helvetica", 10)
    canvas.drawString(72, 730, "Deposits 1,250,000 KRW   Withdrawals 830,000 KRW")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _templates(image: Image, statement_pdf: Payload) -> list[tuple[str, Purpose, ChannelVariant]]:
    link = "https://m.bank.example/event"
    web = Button(type="WL", name="혜택 보기", url_mobile=link, url_pc="https://bank.example/event")
    open_url = Button(type="openUrl", name="자세히 보기", url_mobile=link)
    dial = Button(type="dial", name="상담 연결", phone="15881234")
    info, ad = Purpose.INFORMATIONAL, Purpose.ADVERTISING
    return [
        (
            "demo-mms",
            info,
            ChannelVariant(
                "sms",
                "[UMS은행] {{ name }}님, 새 모바일 통장 디자인을 안내드립니다.",
                "새 통장 디자인 안내",
                payload=Payload(images=[image]),
            ),
        ),
        (
            "demo-intl-sms",
            info,
            ChannelVariant(
                "sms",
                "[UMS은행] {{ name }}님 해외 카드 승인 안내.\n"
                "Card used abroad? Call +82-2-1588-1234",
            ),
        ),
        (
            "demo-rcs-sms",
            info,
            ChannelVariant(
                "rcs",
                "[UMS은행] {{ name }}님, 체크카드가 발급되었습니다.",
                payload=Payload(rcs=RcsOptions(rcs_type="SMS"), buttons=[open_url]),
            ),
        ),
        (
            "demo-rcs-lms",
            info,
            ChannelVariant(
                "rcs",
                "[UMS은행] {{ name }}님, {{ branch }}에서 신청하신 대출 심사가 완료되었습니다.\n"
                "약정은 모바일 앱 또는 가까운 지점에서 하실 수 있습니다.\n"
                "기한: 신청일로부터 30일 이내\n문의: 고객센터 1588-1234",
                "대출 심사 결과 안내",
                payload=Payload(rcs=RcsOptions(rcs_type="LMS"), buttons=[open_url, dial]),
            ),
        ),
        (
            "demo-rcs-mms",
            info,
            ChannelVariant(
                "rcs",
                "[UMS은행] {{ name }}님, 새 모바일 통장 디자인을 안내드립니다.",
                "새 통장 디자인",
                payload=Payload(rcs=RcsOptions(rcs_type="MMS"), images=[image]),
            ),
        ),
        (
            "demo-rcs-template",
            info,
            ChannelVariant(
                "rcs",
                "[UMS은행] {{ name }}님 입금 안내",
                provider_template_code="UBR.ums-deposit-01",
                payload=Payload(
                    rcs=RcsOptions(
                        rcs_type="TEMPLATE",
                        message_base_id="UBR.ums-deposit-01",
                        template_variables={"고객명": "{{ name }}", "일자": "{{ today }}"},
                    )
                ),
            ),
        ),
        (
            "demo-friendtalk",
            ad,
            ChannelVariant(
                "friendtalk",
                _AD,
                payload=Payload(kakao_type="IMAGE", images=[image], buttons=[web]),
            ),
        ),
        (
            "demo-brand",
            ad,
            ChannelVariant("brand", _AD, payload=Payload(kakao_type="TEXT", buttons=[web])),
        ),
        (
            "demo-push",
            info,
            ChannelVariant(
                "push",
                "{{ name }}님, 급여 2,450,000원이 입금되었습니다.",
                "입금 알림",
                payload=Payload(
                    push=PushOptions(data={"kind": "deposit"}, badge=1, sound="default")
                ),
            ),
        ),
        (
            "demo-email-statement",
            info,
            ChannelVariant(
                "email",
                "{{ name }}님, 이번 달 거래내역서를 첨부합니다.\nUMS은행 드림",
                "[UMS은행] {{ name }}님의 거래내역서",
                "<p>{{ name }}님, 이번 달 <b>거래내역서</b>를 첨부합니다.</p><p>UMS은행 드림</p>",
                payload=statement_pdf,
            ),
        ),
        (
            "demo-dm",
            info,
            ChannelVariant(
                "dm",
                "{{ name }} 고객님,\n{{ branch }}에서 연간 거래내역을 우편으로 보내드립니다.",
                payload=Payload(
                    # The demo has no postal addresses: letters go to the branch, held for
                    # the customer (지점 보관).
                    dm=DmLetter(
                        postcode="04524",
                        address="서울특별시 중구 세종대로 110",
                        address_detail="UMS은행 {{ branch }} 보관",
                        name="{{ name }}",
                    )
                ),
            ),
        ),
    ]


def register_showcase_templates(store: Store, settings: Settings) -> None:
    """The image and the statement go to the content store, each template is registered
    (identical content again adds no version)."""
    content = ContentStore(settings.content_dir)
    image = content.put_image(_jpeg(), link="https://m.bank.example/event")
    statement = content.put_attachment(_statement_pdf(), "거래내역서.pdf", "application/pdf")
    with store.session() as session:
        for code, purpose, variant in _templates(image, Payload(attachments=[statement])):
            register_template(
                session,
                code=code,
                name=f"데모 {code}",
                purpose=purpose,
                variables=_VARIABLES,
                variants=[variant],
                actor="demo",
            )


def showcase_job_ids(store: Store) -> list[str]:
    """The standing jobs the showcase's requests went to (none before its first run)."""
    with store.session() as session:
        found = session.scalars(
            select(SendRequest.job_id).where(SendRequest.caller == SHOWCASE_CALLER).distinct()
        )
        return sorted(found)


def _all_terminal(store: Store, job_ids: list[str]) -> bool:
    with store.session() as session:
        live = session.scalar(
            select(Message.id)
            .where(Message.job_id.in_(job_ids), Message.state.not_in(TERMINAL_STATES))
            .limit(1)
        )
    return live is None


async def _serve(store: Store, settings: Settings, job_ids: list[str], timeout_s: float) -> bool:
    config = AgentConfig(lanes=tuple(Lane), inbox_every_s=0, receipts_every_s=0.2, tick_s=0.1)
    agent, task = start_agent(store, settings, config)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            if task.done() or await asyncio.to_thread(_all_terminal, store, job_ids):
                break
    finally:
        agent.stop()
        await task
    return await asyncio.to_thread(_all_terminal, store, job_ids)


def run_showcase(
    store: Store, settings: Settings, sender: str, timeout_s: float = 60.0
) -> ShowcaseOutcome:
    """Submit every showcase request (a repeat writes nothing) and run a send agent until
    each of their messages, fallback legs included, is delivered or failed."""
    started = time.monotonic()
    with store.session() as session:
        known = set(
            session.scalars(
                select(Customer.customer_id).where(Customer.customer_id.in_(SHOWCASE_CUSTOMERS))
            )
        )
    if len(known) < len(_CUSTOMERS):
        raise RuntimeError("showcase customers are not in the store: run the customer sync")
    register_showcase_templates(store, settings)
    new = 0
    for item in SHOWCASE:
        result = submit(
            store,
            settings,
            caller=SHOWCASE_CALLER,
            caller_key=item.key,
            customer_id=item.customer,
            template_code=item.template,
            chain=[item.channel],
            sender_number=sender,
        )
        new += result.created
    job_ids = showcase_job_ids(store)
    terminal = _all_terminal(store, job_ids)
    if not terminal:
        terminal = asyncio.run(_serve(store, settings, job_ids, timeout_s))
    return ShowcaseOutcome(new, job_ids, terminal, time.monotonic() - started)
