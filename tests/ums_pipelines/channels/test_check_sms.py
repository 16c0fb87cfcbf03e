"""SMS/LMS/MMS and international SMS: every DOMAIN.md limit at, under and over it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ums_pipelines.channels.checks import CheckResult, check_message
from ums_pipelines.channels.emoji import KOREAN_EMOTICONS
from ums_pipelines.channels.limits import KB, ChannelLimits
from ums_pipelines.channels.payload import Button, Image, Payload

# The make_image fixture's type (channels/conftest.py); conftest modules are not importable.
MakeImage = Callable[..., Image]

RELAY_B = ChannelLimits().merged({"sms": {"mms_max_width": 1500, "mms_max_height": 1440}})


def codes(result: CheckResult) -> list[str]:
    return [v.code for v in result.violations]


# (text, expected type, expected EUC-KR bytes): 90 bytes is an SMS, 91 an LMS.
@pytest.mark.parametrize(
    ("text", "kind", "size"),
    [
        ("a" * 90, "SMS", 90),  # at
        ("a" * 89, "SMS", 89),  # under
        ("a" * 91, "LMS", 91),  # over: promoted, not refused
        ("가" * 45, "SMS", 90),  # Hangul counts 2
        ("가" * 44 + "a", "SMS", 89),
        ("가" * 45 + "a", "LMS", 91),
        ("가" * 46, "LMS", 92),  # 46 characters, 92 bytes
        ("가" * 30 + "a" * 30, "SMS", 90),
    ],
)
def test_sms_90_bytes_then_lms(text: str, kind: str, size: int) -> None:
    result = check_message("sms", text)
    assert (result.ok, result.message_type, result.bytes, result.chars) == (
        True,
        kind,
        size,
        len(text),
    )


@pytest.mark.parametrize(("subject", "kind"), [(None, "SMS"), ("", "SMS"), ("안내", "LMS")])
def test_a_subject_makes_an_lms(subject: str | None, kind: str) -> None:
    assert check_message("sms", "짧은 본문", subject=subject).message_type == kind


@pytest.mark.parametrize("channel", ["sms", "lms", "mms"])
@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("가" * 1000, True),  # at: 2,000 bytes
        ("가" * 999 + "a", True),  # under
        ("a" * 2000, True),
        ("가" * 1000 + "a", False),  # over: 2,001 bytes
        ("a" * 2001, False),
    ],
)
def test_lms_and_mms_body_2000_bytes(channel: str, text: str, ok: bool) -> None:
    result = check_message(channel, text)
    assert result.ok is ok
    assert result.message_type == ("MMS" if channel == "mms" else "LMS")
    if not ok:
        assert codes(result) == ["BODY_TOO_LONG"]
        kind = "an MMS" if channel == "mms" else "an LMS"
        assert result.violations[0].message == (
            f"text: 2,001 bytes in EUC-KR, {kind} carries 2,000 at most"
        )


@pytest.mark.parametrize("channel", ["sms", "lms", "mms"])
@pytest.mark.parametrize(
    ("subject", "ok"),
    [
        ("가" * 20, True),  # at: 40 bytes
        ("가" * 19 + "a", True),  # under
        ("a" * 40, True),
        ("가" * 20 + "a", False),  # over: 41 bytes
        ("a" * 41, False),
    ],
)
def test_subject_40_bytes(channel: str, subject: str, ok: bool) -> None:
    result = check_message(channel, "본문", subject=subject)
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["SUBJECT_TOO_LONG"]
        assert result.violations[0].message.startswith("subject: 41 bytes in EUC-KR")


@pytest.mark.parametrize(
    ("text", "position", "codepoint"),
    [
        ("입금 완료 😀", 6, "U+1F600"),
        ("\u20a9 10,000 입금", 0, "U+20A9"),  # the won sign is not in CP949
        ("잔액 👍🏽", 3, "U+1F44D U+1F3FD"),  # a skin-tone sequence is one character
        ("♥\ufe0f", 0, "U+2665 U+FE0F"),  # in CP949 alone, not with the emoji selector
    ],
)
def test_characters_outside_cp949_named_with_position_and_code_point(
    text: str, position: int, codepoint: str
) -> None:
    for channel in ("sms", "lms", "mms"):
        result = check_message(channel, text)
        assert codes(result) == ["NOT_CP949"]
        message = result.violations[0].message
        assert message.startswith(f"text: {codepoint} (")
        assert f"at position {position}" in message


def test_subject_characters_are_checked_too() -> None:
    result = check_message("sms", "본문", subject="안내 😀")
    assert codes(result) == ["NOT_CP949"]
    assert result.violations[0].message.startswith("subject: U+1F600")


def test_many_bad_characters_are_summarised() -> None:
    result = check_message("sms", "😀" * 8)
    assert codes(result) == ["NOT_CP949"] * 6
    assert result.violations[-1].message == "text: 3 more characters the channel cannot carry"


@pytest.mark.parametrize("emoticon", KOREAN_EMOTICONS)
def test_korean_emoticons_go_by_sms(emoticon: str) -> None:
    assert check_message("sms", f"감사합니다 {emoticon}").ok


@pytest.mark.parametrize(
    ("count", "ok"),
    [(3, True), (2, True), (1, True), (4, False)],
)
def test_mms_up_to_3_images(make_image: MakeImage, count: int, ok: bool) -> None:
    images = [make_image(32 + i, 32) for i in range(count)]
    result = check_message("sms", "사진", payload=Payload(images=images))
    assert result.message_type == "MMS"
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["TOO_MANY_IMAGES"]
        assert result.violations[0].message == "images: 4 images, an MMS carries 3 at most"


@pytest.mark.parametrize(
    ("size", "ok"),
    [(300 * KB, True), (300 * KB - 1, True), (300 * KB + 1, False)],
)
def test_mms_image_300_kb(make_image: MakeImage, size: int, ok: bool) -> None:
    image = make_image(100, 100, size=size)
    assert image.size_bytes == size
    result = check_message("mms", "사진", payload=Payload(images=[image]))
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["IMAGE_TOO_LARGE"]
        assert result.violations[0].message == (
            "images[0]: 307,201 bytes, an MMS takes 307,200 at most"
        )


@pytest.mark.parametrize(
    ("limits", "width", "height", "ok"),
    [
        (None, 1000, 1000, True),  # at, one relay
        (None, 999, 1000, True),  # under
        (None, 1000, 999, True),
        (None, 1001, 1000, False),  # over, either side
        (None, 1000, 1001, False),
        (RELAY_B, 1500, 1440, True),  # at, another relay
        (RELAY_B, 1499, 1439, True),
        (RELAY_B, 1501, 1440, False),
        (RELAY_B, 1500, 1441, False),
    ],
)
def test_mms_pixels_per_relay(
    make_image: MakeImage, limits: ChannelLimits | None, width: int, height: int, ok: bool
) -> None:
    image = make_image(width, height)
    assert (image.width, image.height) == (width, height)
    result = check_message("sms", "사진", payload=Payload(images=[image]), limits=limits)
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["IMAGE_PIXELS"]
        assert f"{width}x{height} px" in result.violations[0].message


@pytest.mark.parametrize(("fmt", "ok"), [("JPEG", True), ("PNG", False), ("GIF", False)])
def test_mms_images_are_jpeg(make_image: MakeImage, fmt: str, ok: bool) -> None:
    result = check_message("sms", "사진", payload=Payload(images=[make_image(fmt=fmt)]))
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["IMAGE_TYPE"]


def test_sms_carries_no_buttons() -> None:
    payload = Payload(buttons=[Button(type="WL", name="보기", url_mobile="https://a.kr")])
    assert codes(check_message("sms", "안내", payload=payload)) == ["PART_NOT_ALLOWED"]


@pytest.mark.parametrize(
    ("sender", "ok"),
    [
        ("1588-1234", True),  # 8 digits: at the lower bound
        ("02-123-4567", True),  # 9
        ("010-1234-5678", True),  # 11: at the upper bound
        ("158-1234", False),  # 7: under the range
        ("010-1234-56789", False),  # 12: over it
        ("1588-12a4", False),
    ],
)
def test_sender_numbers_8_to_11_digits(sender: str, ok: bool) -> None:
    result = check_message("sms", "안내", sender=sender)
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["SENDER_INVALID"]
        assert result.violations[0].message.startswith("sender: ")


def test_special_short_numbers_are_configurable() -> None:
    limits = ChannelLimits().merged({"sender": {"short_numbers": ["114"]}})
    assert check_message("sms", "안내", sender="114", limits=limits).ok
    assert not check_message("sms", "안내", sender="114").ok


@pytest.mark.parametrize(
    ("text", "codes_"),
    [
        ("(광고) 혜택 안내\n무료수신거부 080-123-4567", []),
        ("(광고)혜택 무료수신거부 0801234567", []),
        ("[광고] 혜택 안내\n무료수신거부 080-123-4567", ["AD_LABEL_MISSING"]),
        ("{광고} 혜택 안내\n무료수신거부 080-123-4567", ["AD_LABEL_MISSING"]),
        ("혜택 (광고)\n무료수신거부 080-123-4567", ["AD_LABEL_MISSING"]),
        ("(광고) 혜택 안내", ["AD_OPTOUT_MISSING"]),
        ("혜택 안내", ["AD_LABEL_MISSING", "AD_OPTOUT_MISSING"]),
    ],
)
def test_advertising_label_and_free_optout(text: str, codes_: list[str]) -> None:
    assert codes(check_message("sms", text, purpose="ad")) == codes_
    assert check_message("sms", text, purpose="info").ok


@pytest.mark.parametrize(
    ("encoding", "text", "ok"),
    [
        ("utf-8", "a" * 1000, True),  # at the relay's 1,000 bytes
        ("utf-8", "a" * 999, True),
        ("utf-8", "a" * 1001, False),
        ("utf-8", "가" * 333 + "a", True),  # Hangul is 3 bytes in UTF-8: 1,000
        ("utf-8", "가" * 334, False),  # 1,002
        ("ucs-2", "가" * 500, True),  # 2 bytes each in UCS-2: 1,000
        ("ucs-2", "가" * 501, False),
        ("cp949", "가" * 500, True),
        ("cp949", "가" * 500 + "a", False),
    ],
)
def test_international_sms_size_in_the_relays_encoding(encoding: str, text: str, ok: bool) -> None:
    limits = ChannelLimits().merged({"intl_sms": {"encoding": encoding}})
    result = check_message("sms", text, country="US", limits=limits)
    assert result.ok is ok
    assert result.message_type == "SMS"  # one international SMS, not promoted
    if not ok:
        assert codes(result) == ["BODY_TOO_LONG"]
        assert "this relay's international SMS carries 1,000 at most" in (
            result.violations[0].message
        )


def test_international_size_is_configurable_per_relay() -> None:
    limits = ChannelLimits().merged({"intl_sms": {"max_bytes": 160}})
    assert check_message("sms", "a" * 160, country="JP", limits=limits).ok
    assert not check_message("sms", "a" * 161, country="JP", limits=limits).ok


@pytest.mark.parametrize(
    ("encoding", "text", "code"),
    [
        ("utf-8", "สวัสดีครับ", None),  # Thai: UTF-8 carries it
        ("ucs-2", "Xin chào, cảm ơn", None),
        ("ucs-2", "Hello 😀", "NOT_ENCODABLE"),  # outside the BMP: no room in UCS-2
        ("cp949", "สวัสดีครับ", "NOT_CP949"),  # a CP949 relay cannot
    ],
)
def test_international_text_where_the_relay_allows(
    encoding: str, text: str, code: str | None
) -> None:
    limits = ChannelLimits().merged({"intl_sms": {"encoding": encoding}})
    result = check_message("sms", text, country="TH", limits=limits)
    assert set(codes(result)) == ({code} if code else set())


def test_domestic_sms_refuses_other_scripts_clearly() -> None:
    result = check_message("sms", "สวัสดี", country="KR")
    assert set(codes(result)) == {"NOT_CP949"}
    assert "outside EUC-KR (CP949)" in result.violations[0].message
    # The same text abroad goes out as UTF-8 (the default international relay).
    assert check_message("sms", "สวัสดี", country="TH").bytes == len("สวัสดี".encode())


def test_empty_text_is_refused() -> None:
    assert codes(check_message("sms", "  \n")) == ["TEXT_EMPTY"]
