"""RCS: message base lengths, images, buttons, senders and the advertising footer."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ums_pipelines.channels.checks import CheckResult, check_message
from ums_pipelines.channels.limits import MB
from ums_pipelines.channels.payload import Button, Image, Payload, RcsOptions

# The make_image fixture's type (channels/conftest.py); conftest modules are not importable.
MakeImage = Callable[..., Image]

OPTOUT = "\n무료수신거부 080-123-4567"


def codes(result: CheckResult) -> list[str]:
    return [v.code for v in result.violations]


def rcs(kind: str, **fields: object) -> RcsOptions:
    return RcsOptions.model_validate({"rcs_type": kind, **fields})


@pytest.mark.parametrize(
    ("kind", "limit"),
    [("SMS", 100), ("LMS", 1300), ("MMS", 1300)],
)
@pytest.mark.parametrize("char", ["a", "가"])  # RCS counts characters, not bytes
def test_rcs_length_per_message_base(
    make_image: MakeImage, kind: str, limit: int, char: str
) -> None:
    images = [make_image()] if kind == "MMS" else []

    def check(length: int) -> CheckResult:
        payload = Payload(rcs=rcs(kind), images=images)
        return check_message("rcs", char * length, payload=payload)

    assert check(limit).ok
    assert check(limit - 1).ok
    over = check(limit + 1)
    assert over.message_type == f"RCS_{kind}"
    assert codes(over) == ["BODY_TOO_LONG"]
    assert over.violations[0].message == (
        f"text: {limit + 1:,} characters, an RCS {kind} carries {limit:,} at most"
    )


@pytest.mark.parametrize(
    ("text", "subject", "images", "kind"),
    [
        ("a" * 100, None, 0, "RCS_SMS"),
        ("a" * 101, None, 0, "RCS_LMS"),  # promoted when no message base is named
        ("안내", "제목", 0, "RCS_LMS"),
        ("사진", None, 1, "RCS_MMS"),
    ],
)
def test_rcs_type_from_content_without_options(
    make_image: MakeImage, text: str, subject: str | None, images: int, kind: str
) -> None:
    payload = Payload(images=[make_image()] * images)
    result = check_message("rcs", text, subject=subject, payload=payload)
    assert (result.ok, result.message_type) == (True, kind)


def test_options_name_the_message_base_sms_by_default() -> None:
    # RcsOptions' default is SMS, and compose sends it as such: too long is refused.
    result = check_message("rcs", "a" * 101, payload=Payload(rcs=RcsOptions(brand_id="bank")))
    assert (result.message_type, codes(result)) == ("RCS_SMS", ["BODY_TOO_LONG"])


@pytest.mark.parametrize(
    ("size", "fmt", "code"),
    [
        (1 * MB, "JPEG", None),  # at
        (1 * MB - 1, "PNG", None),  # under
        (1 * MB + 1, "JPEG", "IMAGE_TOO_LARGE"),  # over
        (None, "GIF", None),
        (None, "BMP", None),
        (None, "TIFF", "IMAGE_TYPE"),
    ],
)
def test_rcs_images_jpg_png_gif_bmp_up_to_1_mb(
    make_image: MakeImage, size: int | None, fmt: str, code: str | None
) -> None:
    if fmt == "TIFF":
        # The content store takes JPEG/PNG/GIF/BMP only; a TIFF can only arrive by hand.
        image = Image(ref="x.tif", content_type="image/tiff", size_bytes=10, width=1, height=1)
    else:
        image = make_image(fmt=fmt, size=size)
    result = check_message("rcs", "사진", payload=Payload(rcs=rcs("MMS"), images=[image]))
    assert codes(result) == ([code] if code else [])


def test_rcs_mms_needs_an_image_and_sms_carries_none(make_image: MakeImage) -> None:
    assert codes(check_message("rcs", "사진", payload=Payload(rcs=rcs("MMS")))) == ["IMAGE_MISSING"]
    payload = Payload(rcs=rcs("SMS"), images=[make_image()])
    assert codes(check_message("rcs", "사진", payload=payload)) == ["TOO_MANY_IMAGES"]
    payload = Payload(rcs=rcs("MMS"), images=[make_image(), make_image(40, 40)])
    assert codes(check_message("rcs", "사진", payload=payload)) == ["TOO_MANY_IMAGES"]


def test_rcs_sms_has_no_title() -> None:
    result = check_message("rcs", "안내", subject="제목", payload=Payload(rcs=rcs("SMS")))
    assert codes(result) == ["SUBJECT_NOT_ALLOWED"]


@pytest.mark.parametrize(
    ("sender", "code"),
    [
        ("1588-1234", None),
        ("02-1234-5678", None),
        ("080-123-4567", None),
        ("010-1234-5678", "RCS_SENDER_MOBILE"),
        ("01012345678", "RCS_SENDER_MOBILE"),
        ("1588-123", "SENDER_INVALID"),
    ],
)
def test_010_numbers_cannot_send_rcs(sender: str, code: str | None) -> None:
    result = check_message("rcs", "안내", sender=sender)
    assert codes(result) == ([code] if code else [])
    if code == "RCS_SENDER_MOBILE":
        assert result.violations[0].message.startswith("sender: 010 (mobile) numbers")
        assert check_message("sms", "안내", sender=sender).ok  # an SMS may


@pytest.mark.parametrize(
    ("text", "codes_"),
    [
        ("(광고) 신규 적금 혜택" + OPTOUT, []),
        ("(광고) 신규 적금 혜택", ["AD_OPTOUT_MISSING"]),
        ("신규 적금 혜택" + OPTOUT, ["AD_LABEL_MISSING"]),
    ],
)
def test_rcs_advertising_needs_the_080_footer(text: str, codes_: list[str]) -> None:
    result = check_message("rcs", text, purpose="ad")
    assert codes(result) == codes_
    if codes_ == ["AD_OPTOUT_MISSING"]:
        assert "RCS advertising needs a free 080 opt-out" in result.violations[0].message


def test_rcs_template_needs_its_approved_template() -> None:
    template = "#{고객명}님 #{금액}원 승인"
    payload = Payload(rcs=rcs("TEMPLATE", message_base_id="APPROVAL-01"))
    ok = check_message("rcs", "홍길동님 1,000원 승인", payload=payload, approved_template=template)
    assert (ok.ok, ok.message_type) == (True, "RCS_TEMPLATE")
    wrong = check_message(
        "rcs", "홍길동님 1,000원 취소", payload=payload, approved_template=template
    )
    assert codes(wrong) == ["TEMPLATE_MISMATCH"]
    missing = check_message("rcs", "홍길동님 1,000원 승인", payload=Payload(rcs=rcs("TEMPLATE")))
    assert codes(missing) == ["TEMPLATE_MISSING"]


@pytest.mark.parametrize(
    ("button", "code"),
    [
        ({"type": "openUrl", "name": "열기", "url_mobile": "https://bank.example"}, None),
        ({"type": "openUrl", "name": "열기"}, "BUTTON_FIELD_MISSING"),
        ({"type": "openUrl", "name": "열기", "url_mobile": "http://bank.example"}, "BUTTON_URL"),
        ({"type": "dial", "name": "전화", "phone": "15881234"}, None),
        ({"type": "dial", "name": "전화"}, "BUTTON_FIELD_MISSING"),
        ({"type": "copy", "name": "복사"}, None),
        ({"type": "WL", "name": "보기", "url_mobile": "https://a.kr"}, "BUTTON_TYPE"),
    ],
)
def test_rcs_buttons(button: dict[str, str], code: str | None) -> None:
    result = check_message("rcs", "안내", payload=Payload(buttons=[Button(**button)]))
    assert codes(result) == ([code] if code else [])


@pytest.mark.parametrize(("count", "ok"), [(3, True), (2, True), (4, False)])
def test_rcs_at_most_3_buttons(count: int, ok: bool) -> None:
    button = Button(type="copy", name="복사")
    result = check_message("rcs", "안내", payload=Payload(buttons=[button] * count))
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["TOO_MANY_BUTTONS"]


def test_rcs_reaches_korean_handsets_only() -> None:
    assert codes(check_message("rcs", "안내", country="US")) == ["INTL_NOT_SUPPORTED"]
    assert check_message("rcs", "안내", country="KR").ok


def test_rcs_carries_emoji_sms_does_not() -> None:
    assert check_message("rcs", "혜택 😀").ok
    assert not check_message("sms", "혜택 😀").ok
