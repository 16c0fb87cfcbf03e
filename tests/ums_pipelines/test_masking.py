"""Masking helpers: what an operator may see of personal data."""

from __future__ import annotations

import re

import pytest

from ums_pipelines.masking import mask_email, mask_name, mask_phone, mask_rrn, mask_text


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("010-1234-5678", "010-****-5678"),
        ("01012345678", "010-****-5678"),
        ("+82 10 1234 5678", "010-****-5678"),
        ("+82-010-1234-5678", "010-****-5678"),
        ("011-234-5678", "011-***-5678"),
        ("02-123-4567", "02-***-4567"),
        ("031-123-4567", "031-***-4567"),
        ("1234", "****"),
        ("", "***"),
        ("not a number", "***"),
    ],
)
def test_mask_phone(raw: str, masked: str) -> None:
    assert mask_phone(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("김민수", "김*수"),
        ("김수", "김*"),
        ("남궁민수", "남**수"),
        ("김", "*"),
        ("  이영희 ", "이*희"),
        ("John Smith", "J********h"),
    ],
)
def test_mask_name(raw: str, masked: str) -> None:
    assert mask_name(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("kim@example.com", "k***@example.com"),
        ("kim.minsu+news@mail.example.co.kr", "k***@mail.example.co.kr"),
        ("a@b.example", "a***@b.example"),
        ("no-at-sign", "***"),
        ("@example.com", "***"),
        ("kim@", "***"),
    ],
)
def test_mask_email(raw: str, masked: str) -> None:
    assert mask_email(raw) == masked


def test_mask_rrn_hides_every_digit() -> None:
    assert mask_rrn("900101-1234567") == "******-*******"
    assert mask_rrn("12") == "***"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("연락처 010-1234-5678 입니다", "연락처 010-****-5678 입니다"),
        ("번호01012345678로", "번호010-****-5678로"),
        ("call +82 10 1234 5678 now", "call 010-****-5678 now"),
        ("(010)1234-5678", "010-****-5678"),
        ("home 02-123-4567", "home 02-***-4567"),
        ("mail kim.minsu@example.com, thanks", "mail k***@example.com, thanks"),
        ("주민번호 900101-1234567", "주민번호 ******-*******"),
        ("rrn 9001011234567 end", "rrn ******-******* end"),
        (
            "nothing personal: 1,234,567원, 2024-05-01 12:34",
            "nothing personal: 1,234,567원, 2024-05-01 12:34",
        ),
        ("order 12345678901234", "order 12345678901234"),
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_mask_text_leaves_no_middle_digits() -> None:
    text = "a 010-9876-5432, b +82 10 2222 3333, c 01044445555, d x.y@example.org"
    masked = mask_text(text)
    for secret in ("9876", "2222", "4444", "x.y@"):
        assert secret not in masked
    assert len(re.findall(r"\*{4}", masked)) == 3
