"""Phone numbers (confirmed by phonenumbers) and e-mail addresses."""

from __future__ import annotations

import pytest

from ums_pipelines.compliance.pii import scan_text


def types(text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in scan_text(text)]


@pytest.mark.parametrize(
    "value",
    [
        "010-1234-5678",
        "01012345678",
        "010 1234 5678",
        "010.1234.5678",
        "010 - 2345 - 6789",
        "011-234-5678",
        "02-123-4567",
        "02-1234-5678",
        "(02) 1234-5678",
        "031-123-4567",
        "064-712-3456",
        "070-1234-5678",
        "+82 10-1234-5678",
        "+82-10-1234-5678",
        "+821012345678",
        "+82 (0)10 1234 5678",
    ],
)
def test_phones(value: str) -> None:
    assert types(f"연락처 {value}로 연락 주세요") == [("PHONE", value)]


@pytest.mark.parametrize(
    "text",
    [
        "고객센터 1588-9999",  # representative numbers are businesses'
        "무료 수신거부 080-123-4567",
        "02-0123-4567",  # no such range
        "010-1234",
        "2026.11.26 10:30",
        "v10.1234.5678",
        "주문번호 01012345678",
        "ORD-010-1234-5678",
    ],
)
def test_phone_negatives(text: str) -> None:
    assert [t for t, _ in types(text) if t == "PHONE"] == []


@pytest.mark.parametrize(
    "value",
    ["kim.minsu@example.com", "jung.hana+ums@naver.com", "KIM@BANK.CO.KR", "a_b-c@sub.kakao.com"],
)
def test_emails(value: str) -> None:
    assert types(f"메일({value}) 확인") == [("EMAIL", value)]


@pytest.mark.parametrize(
    "text",
    [
        "react@18.2.0",
        "user@localhost",
        "@kbstar 채널",
        "{{ name }}@bank.co.kr",
        "{{ customer.email }}",
        "k***@example.com",
    ],
)
def test_email_negatives(text: str) -> None:
    assert types(text) == []


def test_sentence_end_dot_is_not_part_of_the_address() -> None:
    assert types("메일은 kim@example.com.") == [("EMAIL", "kim@example.com")]
