"""KakaoTalk: AlimTalk against its approved template, buttons, FriendTalk and brand types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ums_pipelines.channels.checks import (
    CheckResult,
    TemplateMismatch,
    check_message,
    match_template,
    template_variables,
)
from ums_pipelines.channels.limits import KB, ChannelLimits
from ums_pipelines.channels.payload import Button, Image, Payload

# The make_image fixture's type (channels/conftest.py); conftest modules are not importable.
MakeImage = Callable[..., Image]

WL = {"type": "WL", "name": "자세히 보기", "url_mobile": "https://bank.example/m"}
TEMPLATE = "#{고객명}님, #{일자} #{금액}원이 입금되었습니다.\n잔액: #{잔액}원"
OPTOUT = "\n무료수신거부 080-123-4567"


def codes(result: CheckResult) -> list[str]:
    return [v.code for v in result.violations]


def buttons(count: int, **fields: Any) -> list[Button]:
    return [Button(**(WL | fields)) for _ in range(count)]


# --- AlimTalk ---------------------------------------------------------------------------


def test_match_template_returns_the_variables() -> None:
    text = "홍길동님, 11/25 1,000원이 입금되었습니다.\n잔액: 5,000원"
    assert match_template(TEMPLATE, text) == {
        "고객명": "홍길동",
        "일자": "11/25",
        "금액": "1,000",
        "잔액": "5,000",
    }
    assert check_message("alimtalk", text, approved_template=TEMPLATE).ok


@pytest.mark.parametrize(
    ("text", "wording"),
    [
        (
            "홍길동님, 11/25 1,000원이 출금되었습니다.\n잔액: 5,000원",
            "원이 입금되었습니다.\\n잔액: ",
        ),
        ("홍길동님 11/25 1,000원이 입금되었습니다.\n잔액: 5,000원", "님, "),
        ("홍길동님, 11/25 1,000원이 입금되었습니다.\n잔액: 5,000", "원"),
    ],
)
def test_changed_wording_is_a_mismatch_naming_the_fixed_part(text: str, wording: str) -> None:
    with pytest.raises(TemplateMismatch) as info:
        match_template(TEMPLATE, text)
    assert f"'{wording}'" in str(info.value)
    result = check_message("alimtalk", text, approved_template=TEMPLATE)
    assert codes(result) == ["TEMPLATE_MISMATCH"]


def test_text_beyond_the_template_is_a_mismatch() -> None:
    with pytest.raises(TemplateMismatch, match="longer than the approved template"):
        match_template("안녕하세요 #{이름}님.", "안녕하세요 홍길동님. 광고")


@pytest.mark.parametrize(
    ("template", "text", "values"),
    [
        ("금리 (연 #{금리}%) *변동* $#{x}", "금리 (연 3.5%) *변동* $1", {"금리": "3.5", "x": "1"}),
        ("#{a}#{b}", "xy", {"a": "", "b": "xy"}),  # adjacent variables: the first is lazy
        ("고정 문구", "고정 문구", {}),
        ("줄1\r\n줄2 #{v}", "줄1\n줄2 값", {"v": "값"}),  # line endings normalised
    ],
)
def test_match_template_escapes_and_normalises(
    template: str, text: str, values: dict[str, str]
) -> None:
    assert match_template(template, text) == values


def test_a_repeated_variable_holds_one_value() -> None:
    template = "#{금액}원 입금, 합계 #{금액}원"
    assert match_template(template, "100원 입금, 합계 100원") == {"금액": "100"}
    with pytest.raises(TemplateMismatch):
        match_template(template, "100원 입금, 합계 200원")


def test_variables_sent_must_be_the_ones_in_the_text() -> None:
    text = "홍길동님, 11/25 1,000원이 입금되었습니다.\n잔액: 5,000원"
    payload = Payload(variables={"고객명": "김철수"})
    result = check_message("alimtalk", text, approved_template=TEMPLATE, payload=payload)
    assert codes(result) == ["TEMPLATE_MISMATCH"]
    assert result.violations[0].message.startswith("variables.고객명:")


@pytest.mark.parametrize(("extra", "ok"), [(0, True), (-1, True), (1, False)])
def test_alimtalk_1000_characters_with_variables_filled(extra: int, ok: bool) -> None:
    template = "#{이름}님 안내: #{본문}"
    fixed = len("님 안내: ")
    name = "홍길동"
    body = "가" * (1000 - fixed - len(name) + extra)
    text = f"{name}님 안내: {body}"
    assert len(text) == 1000 + extra
    result = check_message("alimtalk", text, approved_template=template)
    assert result.ok is ok
    assert result.chars == len(text)
    if not ok:
        assert codes(result) == ["BODY_TOO_LONG"]
        assert result.violations[0].message == (
            "text: 1,001 characters with its variables filled in, an AlimTalk carries 1,000 at most"
        )


@pytest.mark.parametrize(("count", "ok"), [(30, True), (29, True), (31, False)])
def test_alimtalk_at_most_30_variables(count: int, ok: bool) -> None:
    template = " ".join(f"#{{v{i}}}" for i in range(count))
    assert len(template_variables(template)) == count
    text = " ".join(str(i) for i in range(count))
    with_template = check_message("alimtalk", text, approved_template=template)
    before_approval = check_message("alimtalk", template)  # the template text itself
    for result in (with_template, before_approval):
        assert result.ok is ok
        if not ok:
            assert codes(result) == ["TOO_MANY_VARIABLES"]
            assert "31 variables" in result.violations[0].message


@pytest.mark.parametrize(
    ("purpose", "ok"),
    [(None, True), ("info", True), ("informational", True), ("auth", True), ("ad", False)],
)
def test_alimtalk_is_informational_only(purpose: str | None, ok: bool) -> None:
    result = check_message("alimtalk", "입금 안내", purpose=purpose)
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["PURPOSE_NOT_ALLOWED"]


def test_unknown_purpose_is_bad_input() -> None:
    with pytest.raises(ValueError, match="purpose"):
        check_message("alimtalk", "입금 안내", purpose="marketing")


# --- buttons (Kakao rules; AlimTalk carries up to 5) ----------------------------------


@pytest.mark.parametrize(("count", "ok"), [(5, True), (4, True), (6, False)])
def test_alimtalk_at_most_5_buttons(count: int, ok: bool) -> None:
    result = check_message("alimtalk", "안내", payload=Payload(buttons=buttons(count)))
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["TOO_MANY_BUTTONS"]
        assert result.violations[0].message == ("buttons: 6 buttons, an AlimTalk carries 5 at most")


@pytest.mark.parametrize(
    ("name", "ok"),
    [("가" * 14, True), ("a" * 13, True), ("가" * 15, False), ("a" * 15, False), (" ", False)],
)
def test_button_name_14_characters(name: str, ok: bool) -> None:
    result = check_message("alimtalk", "안내", payload=Payload(buttons=buttons(1, name=name)))
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["BUTTON_NAME"]
        assert result.violations[0].message.startswith("buttons[0].name:")


@pytest.mark.parametrize(
    ("button", "code"),
    [
        (WL, None),
        ({"type": "WL", "name": "보기"}, "BUTTON_FIELD_MISSING"),
        ({"type": "WL", "name": "보기", "url_mobile": "http://bank.example"}, "BUTTON_URL"),
        ({"type": "WL", "name": "보기", "url_mobile": "bank.example/m"}, "BUTTON_URL"),
        (WL | {"url_pc": "http://bank.example/pc"}, "BUTTON_URL"),
        (
            {"type": "AL", "name": "앱", "scheme_android": "bank://m", "scheme_ios": "bank://m"},
            None,
        ),
        ({"type": "AL", "name": "앱", "scheme_android": "bank://m"}, "BUTTON_FIELD_MISSING"),
        (
            {"type": "AL", "name": "앱", "scheme_android": "bank", "scheme_ios": "bank://m"},
            "BUTTON_URL",
        ),
        ({"type": "DS", "name": "배송조회"}, None),
        ({"type": "BK", "name": "상담"}, None),
        ({"type": "MD", "name": "전달"}, None),
        ({"type": "AC", "name": "채널 추가"}, None),
        ({"type": "XX", "name": "보기"}, "BUTTON_TYPE"),
        ({"type": "openUrl", "name": "보기", "url_mobile": "https://a.kr"}, "BUTTON_TYPE"),
    ],
)
def test_kakao_button_types_and_fields(button: dict[str, str], code: str | None) -> None:
    result = check_message("alimtalk", "안내", payload=Payload(buttons=[Button(**button)]))
    assert codes(result) == ([code] if code else [])


def test_http_buttons_allowed_where_a_provider_allows() -> None:
    limits = ChannelLimits().merged({"buttons": {"https_only": False}})
    payload = Payload(buttons=buttons(1, url_mobile="http://bank.example"))
    assert check_message("alimtalk", "안내", payload=payload, limits=limits).ok


# --- FriendTalk and brand message -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "max_chars", "max_buttons", "images"),
    [("TEXT", 1000, 5, 0), ("IMAGE", 400, 5, 1), ("WIDE", 76, 1, 1)],
)
@pytest.mark.parametrize("channel", ["friendtalk", "brand"])
def test_friendtalk_and_brand_types_at_under_and_over(
    make_image: MakeImage,
    channel: str,
    kind: str,
    max_chars: int,
    max_buttons: int,
    images: int,
) -> None:
    optout = OPTOUT if channel == "brand" else ""
    image = [make_image(800, 600)] * images

    def check(chars: int, n_buttons: int, n_images: int) -> CheckResult:
        text = "가" * (chars - len(optout)) + optout
        payload = Payload(kakao_type=kind, buttons=buttons(n_buttons), images=image[:n_images])
        if n_images > images:
            payload = Payload(
                kakao_type=kind, buttons=buttons(n_buttons), images=[make_image()] * n_images
            )
        return check_message(channel, text, purpose="ad", payload=payload)

    at = check(max_chars, max_buttons, images)
    assert at.ok, at.violations
    assert at.message_type == ("BRAND" if channel == "brand" else f"FRIENDTALK_{kind}")
    assert check(max_chars - 1, max(max_buttons - 1, 0), images).ok
    assert codes(check(max_chars + 1, max_buttons, images)) == ["BODY_TOO_LONG"]
    assert codes(check(max_chars, max_buttons + 1, images)) == ["TOO_MANY_BUTTONS"]
    assert codes(check(max_chars, max_buttons, images + 1)) == ["TOO_MANY_IMAGES"]
    if images:
        assert codes(check(max_chars, max_buttons, 0)) == ["IMAGE_MISSING"]


def test_friendtalk_without_a_type_is_text_or_image(make_image: MakeImage) -> None:
    assert check_message("friendtalk", "혜택").message_type == "FRIENDTALK_TEXT"
    with_image = check_message("friendtalk", "혜택", payload=Payload(images=[make_image()]))
    assert (with_image.ok, with_image.message_type) == (True, "FRIENDTALK_IMAGE")


def test_unknown_kakao_type() -> None:
    result = check_message("friendtalk", "혜택", payload=Payload(kakao_type="CAROUSEL"))
    assert codes(result) == ["KAKAO_TYPE"]


@pytest.mark.parametrize("channel", ["friendtalk", "brand"])
@pytest.mark.parametrize(("purpose", "ok"), [("ad", True), ("info", False), ("auth", False)])
def test_friendtalk_and_brand_are_advertising_only(channel: str, purpose: str, ok: bool) -> None:
    result = check_message(channel, "(광고) 혜택" + OPTOUT, purpose=purpose)
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["PURPOSE_NOT_ALLOWED"]


@pytest.mark.parametrize(
    ("text", "ok"),
    [("혜택" + OPTOUT, True), ("혜택 무료수신거부 0801234567", True), ("혜택 1588-1234", False)],
)
def test_brand_message_needs_a_080_number(text: str, ok: bool) -> None:
    result = check_message("brand", text, purpose="ad")
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["AD_OPTOUT_MISSING"]
    assert check_message("friendtalk", text, purpose="ad").ok  # Kakao adds its own


@pytest.mark.parametrize(
    ("size", "fmt", "code"),
    [
        (500 * KB, "JPEG", None),
        (500 * KB - 1, "PNG", None),
        (500 * KB + 1, "JPEG", "IMAGE_TOO_LARGE"),
        (None, "GIF", "IMAGE_TYPE"),
    ],
)
def test_friendtalk_image_size_and_type(
    make_image: MakeImage, size: int | None, fmt: str, code: str | None
) -> None:
    payload = Payload(kakao_type="IMAGE", images=[make_image(fmt=fmt, size=size)])
    result = check_message("friendtalk", "혜택", payload=payload)
    assert codes(result) == ([code] if code else [])


@pytest.mark.parametrize("channel", ["alimtalk", "friendtalk", "brand"])
def test_kakao_carries_unicode_emoji(channel: str) -> None:
    result = check_message(
        channel, "혜택 😀" + OPTOUT, purpose="info" if channel == "alimtalk" else "ad"
    )
    assert result.ok
    risky = check_message(
        channel, "혜택 🫠" + OPTOUT, purpose="info" if channel == "alimtalk" else "ad"
    )
    assert risky.ok and [w.code for w in risky.warnings] == ["EMOJI_RISKY"]
