"""Byte counting as Korean relays count, and the SMS -> LMS promotion."""

from __future__ import annotations

import pytest

from ums_pipelines.channels.encoding import (
    LMS_MAX_BYTES,
    SMS_MAX_BYTES,
    SUBJECT_MAX_BYTES,
    NotEncodable,
    cp949_len,
    sms_type_for,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("abc", 3),
        ("한", 2),
        ("안녕하세요", 10),
        ("UMS은행 1588-1234", 17),
        ("똠방각하", 8),  # CP949 extension syllables (outside KS X 1001) still count 2
        ("①", 2),  # symbol block
        ("\n", 1),
    ],
)
def test_cp949_len_counts_hangul_as_two_bytes(text: str, expected: int) -> None:
    assert cp949_len(text) == expected


def test_cp949_len_differs_from_utf8() -> None:
    text = "입금 안내"
    assert cp949_len(text) == 9
    assert len(text.encode("utf-8")) == 13


@pytest.mark.parametrize(
    ("text", "position"),
    [("😀", 0), ("입금 완료 😀", 6), ("ab\U0001f4b0", 2), ("\u20a9 10,000", 0)],
)
def test_characters_outside_cp949_are_refused_with_position(text: str, position: int) -> None:
    with pytest.raises(NotEncodable) as info:
        cp949_len(text, "body")
    assert info.value.field == "body"
    assert info.value.position == position
    assert "body" in str(info.value) and "CP949" in str(info.value)
    assert isinstance(info.value, ValueError)  # compose turns ValueErrors into failed rows


@pytest.mark.parametrize(
    ("text", "subject", "expected"),
    [
        ("a" * SMS_MAX_BYTES, None, "SMS"),
        ("a" * (SMS_MAX_BYTES + 1), None, "LMS"),
        ("가" * 45, None, "SMS"),  # exactly 90 bytes
        ("가" * 45 + "a", None, "LMS"),  # 91 bytes
        ("가" * 46, None, "LMS"),  # 46 characters but 92 bytes
        ("짧은 본문", "제목", "LMS"),  # a subject always means LMS
        ("짧은 본문", "", "SMS"),  # an empty subject is no subject
        ("가" * (LMS_MAX_BYTES // 2), None, "LMS"),  # exactly 2000 bytes
        ("", None, "SMS"),
    ],
)
def test_sms_type_for(text: str, subject: str | None, expected: str) -> None:
    assert sms_type_for(text, subject) == expected


def test_sms_under_90_characters_can_still_be_lms() -> None:
    # 60 characters is well under 90 characters, but 120 bytes: the relay counts bytes.
    text = "가" * 60
    assert len(text) < SMS_MAX_BYTES
    assert sms_type_for(text) == "LMS"


def test_body_over_lms_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="2000"):
        sms_type_for("가" * (LMS_MAX_BYTES // 2) + "a")


def test_subject_over_40_bytes_is_refused() -> None:
    assert sms_type_for("본문", "가" * (SUBJECT_MAX_BYTES // 2)) == "LMS"
    with pytest.raises(ValueError, match="subject"):
        sms_type_for("본문", "가" * (SUBJECT_MAX_BYTES // 2) + "a")


@pytest.mark.parametrize(
    ("text", "subject", "field"), [("😀", None, "text"), ("ok", "😀", "subject")]
)
def test_unencodable_text_or_subject_is_named(text: str, subject: str | None, field: str) -> None:
    with pytest.raises(NotEncodable) as info:
        sms_type_for(text, subject)
    assert info.value.field == field
