"""RRN, foreigner number, passport, driver's licence and BRN recognisers."""

from __future__ import annotations

from datetime import date

import pytest

from ums_pipelines.compliance.pii import scan_text
from ums_pipelines.compliance.pii.identity import brn_check_ok, rrn_birth_date


def types(text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in scan_text(text)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("주민등록번호 900101-1234568 확인", "900101-1234568"),  # valid check digit
        ("주민번호 201015-4987650 (2020년 10월 이후 발급)", "201015-4987650"),
        ("신청인 850715-2345679 님", "850715-2345679"),  # no context, checksum not needed
        ("주민번호 8507152345678", "8507152345678"),
        ("2000년생 000229-3123456", "000229-3123456"),  # leap day in 2000
        ("기록 991231-9123456", "991231-9123456"),  # 9: born in the 1800s
        ("주민번호는 900101–1234567", "900101–1234567"),  # en dash
    ],
)
def test_rrn_found_without_requiring_the_check_digit(text: str, value: str) -> None:
    assert types(text) == [("KR_RRN", value)]


@pytest.mark.parametrize(
    "text",
    [
        "991332-1234567 (13월)",
        "900230-1234567 (2월 30일)",
        "000229-1123456 (1900년은 평년)",
        "거래번호 9001011234567",  # labelled as another id, bare digits
        "주문번호 850412-2345678 출고",
        "1234567890123 고객",  # month 34
        "TX-9001011234567",  # a segment of a dashed id
        "9001011234567890",  # 16 digits: not an RRN
    ],
)
def test_rrn_shapes_that_are_not_rrns(text: str) -> None:
    assert [t for t, _ in types(text) if t in ("KR_RRN", "KR_FRN")] == []


def test_birth_date_must_not_be_in_the_future() -> None:
    assert rrn_birth_date("2812313123456", today=date(2026, 11, 26)) is None
    assert rrn_birth_date("2512313123456", today=date(2026, 11, 26)) == date(2025, 12, 31)


def test_foreigner_number_by_gender_digit() -> None:
    assert types("외국인등록번호 900101-5234567") == [("KR_FRN", "900101-5234567")]
    assert types("WANG LI,0512317123456,안산") == [("KR_FRN", "0512317123456")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("여권번호 M12345678", "M12345678"),
        ("passport S98765432 사본", "S98765432"),
        ("신형 여권 M123A4567", "M123A4567"),
        ("제출 서류 R12345678 확인", "R12345678"),  # no context needed
    ],
)
def test_passport(text: str, value: str) -> None:
    assert types(text) == [("PASSPORT", value)]


@pytest.mark.parametrize(
    "text", ["모델명 M12345678", "SKU-M12345678", "M1234567", "XM12345678", "m12345678"]
)
def test_passport_negatives(text: str) -> None:
    assert types(text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("운전면허 11-12-345678-90", "11-12-345678-90"),
        ("확인: 28-20-123456-01", "28-20-123456-01"),
        ("면허 서울 12-345678-90", "서울 12-345678-90"),
        ("경기북부12-345678-90", "경기북부12-345678-90"),
        ("운전면허번호 111234567890", "111234567890"),
    ],
)
def test_driver_licence(text: str, value: str) -> None:
    assert types(text) == [("DRIVER_LICENSE", value)]


def test_driver_licence_needs_context_when_bare_or_a_valid_region() -> None:
    assert types("관리번호 111234567890") == []
    assert types("코드 111234567890") == []
    assert types("29-12-345678-90") == []  # no region 29


@pytest.mark.parametrize("number", ["214-87-98889", "134-86-72683", "113-02-43949"])
def test_brn_with_check_digit(number: str) -> None:
    assert brn_check_ok(number)
    assert types(f"사업자등록번호 {number}") == [("KR_BRN", number)]
    assert types(f"공급자 {number} 대표") == [("KR_BRN", number)]


def test_brn_refusals() -> None:
    assert not brn_check_ok("123-45-67890")  # wrong check digit
    assert not brn_check_ok("100-00-00000")  # invalid components (stdnum)
    assert types("사업자번호 123-45-67890") == []
    assert types("거래처 2148798889") == []  # bare digits need a BRN word
    assert types("사업자 2148798889") == [("KR_BRN", "2148798889")]
    assert types("주문번호 214-87-98889") == []
