"""The showcase's templates and their content: one template per message type, an image
drawn for MMS, RCS and FriendTalk, and a PDF statement to attach to an e-mail.

Images and PDFs are produced the same byte for byte on every run, so the content store
keeps one file of each and registering the templates again adds no version.
"""

from __future__ import annotations

import io

from PIL import Image as PilImage
from PIL import ImageDraw
from reportlab.pdfgen.canvas import Canvas

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.payload import (
    Button,
    DmLetter,
    Image,
    Payload,
    PushOptions,
    RcsOptions,
)
from ums_pipelines.jobs import ChannelVariant, register_template
from ums_pipelines.lanes import Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store

__all__ = ["register_showcase_templates"]

_AD = "(광고) UMS은행 {{ name }}님께 드리는 혜택\n무료수신거부 080-123-4567"
_VARIABLES = ("name", "branch", "today", "customer_id")


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
