"""Card numbers (Luhn + IIN) and bank accounts (grouping + context words)."""

from __future__ import annotations

import pytest

from ums_pipelines.compliance.pii import scan_text
from ums_pipelines.compliance.pii.financial import card_brand


def types(text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in scan_text(text)]


@pytest.mark.parametrize(
    ("text", "value", "brand"),
    [
        ("카드 4111-1111-1111-1111 결제", "4111-1111-1111-1111", "visa"),
        ("카드번호 5105 1051 0510 5100", "5105 1051 0510 5100", "mastercard"),
        ("Amex 3782-822463-10005", "3782-822463-10005", "amex"),
        ("결제 4111111111111111 승인", "4111111111111111", "visa"),
        ("JCB 3530111333300000", "3530111333300000", "jcb"),
    ],
)
def test_cards(text: str, value: str, brand: str) -> None:
    assert types(text) == [("CARD", value)]
    assert card_brand("".join(ch for ch in value if ch.isdigit())) == brand


@pytest.mark.parametrize(
    "text",
    [
        "카드 4111-1111-1111-1112",  # Luhn fails
        "카드 1234-5678-9012-3452",  # Luhn valid, no known IIN
        "카드 4111-1111-1111",  # too short
        "거래번호 4111111111111111",  # bare digits labelled as a transaction
        "승인번호 4111-1111-1111-1111-2",  # a segment
    ],
)
def test_card_negatives(text: str) -> None:
    assert [t for t, _ in types(text) if t == "CARD"] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("입금 계좌: 국민은행 123456-12-123456", "123456-12-123456"),
        ("신한은행 110-123-456789 로 송금", "110-123-456789"),
        ("농협 302-1234-5678-91 예금주 이서연", "302-1234-5678-91"),
        ("카카오뱅크 3333-01-1234567", "3333-01-1234567"),
        ("환불 계좌번호 1234567890123", "1234567890123"),
        ("account 1002-345-678901 (Woori)", "1002-345-678901"),
        ("123-45-678901 계좌로 보내주세요", "123-45-678901"),  # keyword after the number
    ],
)
def test_accounts_with_context(text: str, value: str) -> None:
    assert types(text) == [("ACCOUNT", value)]


@pytest.mark.parametrize(
    "text",
    [
        "문서 110-123-456789 참조",  # no account word
        "주문번호 110-123-456789, 입금 확인 완료",  # the order label is nearer
        "입금 확인 번호 2026-1126-0001",  # date-led reference
        "입금 1,500,000원",
        "토스 1000-1234-5678 이벤트",  # a grouping, but no account word
    ],
)
def test_account_negatives(text: str) -> None:
    assert [t for t, _ in types(text) if t == "ACCOUNT"] == []


def test_nearest_keyword_decides() -> None:
    text = "주문번호 110-123-456789, 환불 계좌 110-987-654321"
    assert types(text) == [("ACCOUNT", "110-987-654321")]
