"""The content preview: compose's own rendering per channel and fallback leg, real counts,
a customer's render failure as that customer's error, autoescaping, and no writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from ums_pipelines.channels.payload import Button, Payload, PushOptions
from ums_pipelines.content.preview import (
    Preview,
    PreviewError,
    build_preview,
    render_preview_html,
)
from ums_pipelines.content.spec import VariableKind, VariableSpec
from ums_pipelines.jobs import ChannelVariant, register_sender_number, register_template
from ums_pipelines.lanes import Purpose
from ums_pipelines.store.models import Base

SENDER = "15881234"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 10:00 in Seoul
EVENT = "https://m.bank.example/events/spring"
SHORT_SMS = "[UMS은행] {{ name }}님 업무 처리 완료"
# 56 Hangul syllables and ASCII: past the 90 bytes of an SMS, well within an LMS.
LONG_SMS = (
    "[UMS은행] {{ name }}님, "
    + "고객님의 소중한 자산을 안전하게 지키기 위해 보안 점검을 실시합니다. " * 2
)
VARIANTS = (
    ChannelVariant("sms", SHORT_SMS),
    ChannelVariant(
        "alimtalk",
        "[UMS은행] {{ name }}님, {{ branch }} 업무가 {{ today }}에 처리되었습니다.",
        provider_template_code="UMS_TX_01",
        payload=Payload(
            buttons=[Button(type="WL", name="내역 보기", url_mobile="https://m.bank.example/tx")]
        ),
    ),
    ChannelVariant(
        "push",
        "{{ name }}님 업무 처리 완료",
        "거래 안내",
        payload=Payload(push=PushOptions(data={"kind": "tx"}, badge=1)),
    ),
    ChannelVariant(
        "email",
        "{{ name }}님 <script>alert('text')</script> 처리되었습니다.",
        "[UMS은행] 거래 안내",
        "<p>{{ name }}님</p><script>alert('html')</script>",
    ),
)


def _register(bank: Any, code: str, variants: Sequence[ChannelVariant], **kw: Any) -> None:
    with bank.store.session() as session:
        register_sender_number(session, SENDER, "고객센터", actor="test")
        register_template(
            session,
            code=code,
            name="거래 안내",
            purpose=kw.get("purpose", Purpose.INFORMATIONAL),
            variables=("name", "branch", "today"),
            variants=variants,
            actor="test",
        )


def _preview(bank: Any, code: str, customers: Sequence[str], **kw: Any) -> Preview:
    with bank.store.session() as session:
        return build_preview(
            session, code=code, customer_ids=customers, now=NOW, settings=bank.settings, **kw
        )


def _row_counts(bank: Any) -> dict[str, int]:
    with bank.store.session() as session:
        return {
            t.name: session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


@pytest.fixture
def item(bank: Any) -> Any:
    _register(bank, "tx", VARIANTS)
    bank.add_customer(
        "C1", phone="01012345678", email="kim.minsu@example.com", push_token="fcm-token-0123456789"
    )
    bank.add_customer("C2", name="이영희", branch=None, phone="01087654321")
    return bank


def test_each_variant_is_rendered_with_its_real_counts(item: Any) -> None:
    preview = _preview(item, "tx", ["C1"])
    (customer,) = preview.customers
    assert customer.name == "김*수" and customer.phone == "010-****-5678"
    legs = {leg.channel: leg for leg in customer.variants}
    assert list(legs) == ["sms", "alimtalk", "push", "email"]  # the platform's channel order

    sms = legs["sms"]
    assert sms.body == "[UMS은행] 김민수님 업무 처리 완료"
    assert sms.message_type == "SMS" and sms.state == "queued" and sms.ok
    assert sms.count is not None
    assert sms.count.bytes == len(sms.body.encode("cp949")) == 33
    assert sms.count.chars == len(sms.body)
    assert sms.count.text == "33 / 90 bytes (SMS)" and sms.count.ok
    assert sms.to == "010-****-5678" and sms.sender == SENDER

    alim = legs["alimtalk"]
    assert alim.body == "[UMS은행] 김민수님, 강남지점 업무가 2026-03-02에 처리되었습니다."
    assert (
        alim.count is not None and alim.count.text == f"{len(alim.body)} / 1,000 chars (ALIMTALK)"
    )
    assert alim.payload is not None and alim.payload.buttons[0].name == "내역 보기"
    assert alim.template_code == "UMS_TX_01"

    push = legs["push"]
    assert push.message_type == "FCM" and push.subject == "거래 안내"
    assert push.count is not None and push.count.limit == 4096 and push.count.unit == "bytes"
    # The wire JSON, not the text: more than the UTF-8 bytes of title and body.
    assert push.count.used > len((push.body + "거래 안내").encode())
    assert push.to == "fcm-…" and "0123456789" not in push.to

    email = legs["email"]
    assert email.html == "<p>김민수님</p><script>alert('html')</script>"  # exactly as sent
    assert email.to == "k***@example.com" and email.count is not None
    assert email.count.limit is None


def test_an_overlong_sms_is_an_lms_and_one_past_the_lms_fails(bank: Any) -> None:
    _register(bank, "long", [ChannelVariant("sms", LONG_SMS)])
    _register(bank, "huge", [ChannelVariant("sms", "{{ name }}" + "가" * 1000)])
    bank.add_customer("C1")
    (leg,) = _preview(bank, "long", ["C1"]).customers[0].variants
    assert leg.message_type == "LMS" and leg.ok
    assert leg.count is not None and leg.count.bytes == len(leg.body.encode("cp949")) > 90
    assert leg.count.text == f"{leg.count.bytes:,} / 2,000 bytes (LMS)"

    (huge,) = _preview(bank, "huge", ["C1"]).customers[0].variants
    assert huge.state == "failed" and not huge.ok and huge.count is None
    assert huge.error is not None and "an LMS carries 2000 at most" in huge.error


def test_an_advertising_sms_without_its_label_shows_the_violation(bank: Any) -> None:
    _register(bank, "ad", [ChannelVariant("sms", SHORT_SMS)], purpose=Purpose.ADVERTISING)
    bank.add_customer("C1")
    (leg,) = _preview(bank, "ad", ["C1"]).customers[0].variants
    assert leg.state == "failed" and leg.error is None  # a violation, not a render error
    assert any("(광고)" in v for v in leg.violations)
    page = render_preview_html(_preview(bank, "ad", ["C1"]))
    assert 'class="violations"' in page and "(광고)" in page


def test_a_customers_render_failure_is_that_customers_error(item: Any) -> None:
    # U+20000 (a rare hanja) is outside EUC-KR: this customer's SMS cannot be rendered.
    item.add_customer("C3", name="김\U00020000수", phone="01055556666")
    preview = _preview(item, "tx", ["C1", "C3"])
    first, second = ({leg.channel: leg for leg in c.variants} for c in preview.customers)
    assert first["sms"].ok and first["sms"].error is None
    failed = second["sms"]
    assert failed.state == "failed" and failed.error_code == "E-RENDER" and failed.count is None
    assert failed.error is not None and "U+20000" in failed.error and "CP949" in failed.error
    # The customer's other channels still render, with the name exactly as it is.
    assert second["alimtalk"].ok and "김\U00020000수님" in second["alimtalk"].body
    page = render_preview_html(preview)
    assert page.count("E-RENDER") == 1 and page.count('class="card ') == 8


def test_a_required_tag_missing_for_one_customer_is_that_customers_error(bank: Any) -> None:
    with bank.store.session() as session:
        register_sender_number(session, SENDER, "고객센터", actor="test")
        register_template(
            session,
            code="spec",
            name="지점 안내",
            purpose=Purpose.INFORMATIONAL,
            variables=[
                VariableSpec(name="name", kind=VariableKind.CUSTOMER),
                VariableSpec(name="branch_name", kind=VariableKind.CUSTOMER, field="branch"),
            ],
            variants=[ChannelVariant("sms", "{{ name }}님 담당 {{ branch_name }}")],
            actor="test",
        )
    bank.add_customer("C1")
    bank.add_customer("C2", branch=None)
    first, second = (c.variants[0] for c in _preview(bank, "spec", ["C1", "C2"]).customers)
    assert first.ok and first.body == "김민수님 담당 강남지점"
    assert second.state == "failed" and second.error_code == "E-RENDER"
    assert second.error is not None and "branch_name" in second.error


def test_chains_list_their_legs_in_order(item: Any) -> None:
    job_id = item.register(
        "job-preview",
        template_code="tx",
        variants=VARIANTS,
        routes={"push": ["push", "alimtalk", "sms"], "email": ["email", "sms"]},
    )
    preview = _preview(item, "tx", ["C1"], job_id=job_id)
    chains = preview.customers[0].chains
    assert [c.label for c in chains] == ["push: push → alimtalk → sms", "email: email → sms"]
    assert [[(leg.leg, leg.channel) for leg in c.legs] for c in chains] == [
        [(0, "push"), (1, "alimtalk"), (2, "sms")],
        [(0, "email"), (1, "sms")],
    ]
    variants = {leg.channel: leg for leg in preview.customers[0].variants}
    for leg in chains[0].legs:  # a leg is the same message as its channel's variant
        assert (leg.body, leg.message_type, leg.count) == (
            variants[leg.channel].body,
            variants[leg.channel].message_type,
            variants[leg.channel].count,
        )
    given = _preview(item, "tx", ["C1"], job_id=job_id, chains=[["sms", "push"]])
    assert [c.label for c in given.customers[0].chains] == ["sms → push"]
    assert given.job_id == job_id and given.sender_number == SENDER

    page = render_preview_html(preview)
    for k in range(3):
        assert f'id="c0-chain0-leg{k}"' in page
    assert 'id="c0-chain1-leg1"' in page and 'id="c0-chain1-leg2"' not in page


def test_bad_arguments_name_the_field(item: Any) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"code": "nope", "customer_ids": ["C1"]}, "code: no content item 'nope'"),
        ({"code": "tx", "customer_ids": []}, "customer_ids: give at least one"),
        ({"code": "tx", "customer_ids": ["C9"]}, "customer_ids: no customer 'C9'"),
        ({"code": "tx", "customer_ids": ["C1"], "version": 7}, "version: content item 'tx' has"),
        ({"code": "tx", "customer_ids": ["C1"], "chains": [["push", "rcs"]]}, r"chains\[0\]"),
        ({"code": "tx", "customer_ids": ["C1"], "chains": [[]]}, r"chains\[0\]: empty"),
        ({"code": "tx", "customer_ids": ["C1"], "job_id": "no-job"}, "job_id: no job"),
    ]
    for kwargs, reason in cases:
        with pytest.raises(PreviewError, match=reason), item.store.session() as session:
            build_preview(session, settings=item.settings, **kwargs)


def test_message_text_is_escaped_and_contacts_masked(item: Any) -> None:
    page = render_preview_html(_preview(item, "tx", ["C1", "C2"]))
    assert "<script" not in page  # neither the text part nor the HTML part runs
    assert "&lt;script&gt;alert(&#39;text&#39;)&lt;/script&gt;" in page
    # The HTML part goes into a sandboxed iframe as an escaped srcdoc attribute.
    assert 'sandbox="" title="HTML 본문" srcdoc="&lt;p&gt;김민수님&lt;/p&gt;&lt;script&gt;' in page
    for secret in ("01012345678", "010-1234-5678", "kim.minsu@example.com", "01087654321"):
        assert secret not in page
    assert "010-****-5678" in page and "k***@example.com" in page and "이*희" in page
    assert "33 / 90 bytes (SMS)" in page and 'class="count ok"' in page


def test_a_preview_writes_nothing(item: Any) -> None:
    item.register("job-existing", template_code="tx", variants=VARIANTS)
    with item.store.session() as session:
        register_template(
            session,
            code="event",
            name="이벤트",
            purpose=Purpose.INFORMATIONAL,
            variables=[
                VariableSpec(name="name", kind=VariableKind.CUSTOMER),
                VariableSpec(name="event_url", kind=VariableKind.SHORT_URL, target=EVENT),
            ],
            variants=[ChannelVariant("sms", "{{ name }}님 이벤트 {{ event_url }}")],
            actor="test",
        )
    before = _row_counts(item)
    _preview(item, "tx", ["C1", "C2"], chains=[["push", "sms"]])
    _preview(item, "tx", ["C1"], job_id="job-existing")
    linked = _preview(item, "event", ["C1", "C2"])
    assert _row_counts(item) == before
    # The short links are made as a send makes them, but not stored: the page says so.
    first, second = (c.variants[0].body for c in linked.customers)
    base = item.settings.shortlink_base_url
    assert first.startswith(f"김민수님 이벤트 {base}") and second.startswith("이영희님 이벤트 ")
    assert first != second and linked.short_links == 2 and EVENT not in first
    assert "are not stored and do not redirect" in render_preview_html(linked)


def test_a_preview_carries_no_open_tracking(item: Any) -> None:
    from pydantic import SecretStr

    item.settings = item.settings.model_copy(update={"opens_secret": SecretStr("s")})
    item.register("job-real", template_code="tx", variants=VARIANTS)
    preview = _preview(item, "tx", ["C1"], job_id="job-real", chains=[["email"], ["push"]])
    page = render_preview_html(preview)
    assert "/o/" not in page and "ums_open" not in page
