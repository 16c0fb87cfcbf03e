"""Recognisers for card numbers (Luhn + known IIN) and bank account numbers (format +
context words: accounts have no public checksum, so the shape alone proves nothing)."""

from __future__ import annotations

import re

from stdnum import luhn

from ums_pipelines.compliance.pii.findings import AFTER, BEFORE, THRESHOLD, Context, Finding

__all__ = ["ACCOUNT_GROUPS", "card_brand", "find_accounts", "find_cards"]

_CARD_GROUPED = re.compile(
    BEFORE
    + r"(?:\d{4}([-\s])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?"  # 16-19 digits, 4-4-4-4(-n)
    + r"|\d{4}([-\s])\d{6}\2\d{4,5})"  # Amex 4-6-5, Diners 4-6-4
    + AFTER
)
_CARD_BARE = re.compile(BEFORE + r"\d{13,19}" + AFTER)
_CARD_WORDS = Context.of(
    ["카드번호", "신용카드", "체크카드", "법인카드", "카드", "결제수단", "card", "visa", "master"]
)

# (prefix range low, high, allowed lengths): the issuer identification numbers of the
# networks used in Korea, plus the 9-prefixed domestic-only cards (BC and others).
_IIN: tuple[tuple[str, str, str, frozenset[int]], ...] = (
    ("visa", "4", "4", frozenset({13, 16, 19})),
    ("mastercard", "51", "55", frozenset({16})),
    ("mastercard", "2221", "2720", frozenset({16})),
    ("amex", "34", "34", frozenset({15})),
    ("amex", "37", "37", frozenset({15})),
    ("jcb", "3528", "3589", frozenset({16, 17, 18, 19})),
    ("diners", "300", "305", frozenset({14, 16, 17, 18, 19})),
    ("diners", "36", "36", frozenset({14, 16, 17, 18, 19})),
    ("diners", "38", "39", frozenset({14, 16, 17, 18, 19})),
    ("discover", "6011", "6011", frozenset({16, 17, 18, 19})),
    ("discover", "644", "649", frozenset({16, 17, 18, 19})),
    ("discover", "65", "65", frozenset({16, 17, 18, 19})),
    ("unionpay", "62", "62", frozenset({16, 17, 18, 19})),
    ("domestic", "9", "9", frozenset({16})),
)

# Digit groups of the major Korean banks' account numbers as customers write them.
ACCOUNT_GROUPS: frozenset[tuple[int, ...]] = frozenset(
    {
        (3, 2, 6),  # SC제일, 신한 (old)
        (3, 3, 6),  # 신한, 케이뱅크
        (4, 3, 6),  # 우리
        (3, 6, 5),  # 하나
        (3, 4, 4, 2),  # NH농협, 부산
        (6, 2, 6),  # KB국민, 우체국
        (3, 2, 4, 3),  # KB국민 (old)
        (3, 6, 2, 3),  # IBK기업
        (4, 2, 7),  # 카카오뱅크, 새마을금고
        (4, 4, 4),  # 토스뱅크
        (3, 6, 3),  # 씨티
        (3, 2, 6, 1),  # 대구, 경남
        (6, 2, 5),  # 농협 (old), 수협
        (3, 2, 5, 1),  # 광주, 전북
    }
)
_ACCOUNT_GROUPED = re.compile(BEFORE + r"\d{3,6}(?:-\d{1,7}){2,3}" + AFTER)
# Order and reference numbers often open with a date: 2026-1126-0001 is not an account.
_DATE_LED = re.compile(r"(?:19|20)\d\d-?(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
_ACCOUNT_BARE = re.compile(BEFORE + r"\d{10,14}" + AFTER)
_BANKS = [
    "국민은행",
    "신한은행",
    "우리은행",
    "하나은행",
    "농협",
    "농협은행",
    "기업은행",
    "우체국",
    "새마을금고",
    "신협",
    "수협",
    "SC제일",
    "씨티",
    "산업은행",
    "대구은행",
    "부산은행",
    "경남은행",
    "광주은행",
    "전북은행",
    "제주은행",
    "카카오뱅크",
    "케이뱅크",
    "토스뱅크",
    "KB국민",
    "NH농협",
    "IBK기업",
    "아이엠뱅크",
    "iM뱅크",
]
_ACCOUNT_WORDS = Context.of(
    [
        "계좌번호",
        "계좌",
        "가상계좌",
        "입금",
        "출금",
        "예금주",
        "송금",
        "이체",
        "은행",
        "뱅크",
        "account",
        "acct",
        "bank",
        *_BANKS,
    ],
    before=40,
    after=25,
)


def card_brand(digits: str) -> str | None:
    """The card network whose IIN range and length ``digits`` fit, or None."""
    for brand, low, high, lengths in _IIN:
        if len(digits) in lengths and low <= digits[: len(low)] <= high:
            return brand
    return None


def find_cards(text: str) -> list[Finding]:
    """Card numbers: 13-19 digits (grouped by dashes or spaces, or bare), Luhn-valid, with
    a known IIN. Grouped numbers are kept without context; bare runs of digits are kept
    unless an order/transaction label is nearest."""
    found: list[Finding] = []
    for pattern, base in ((_CARD_GROUPED, 0.7), (_CARD_BARE, 0.5)):
        for match in pattern.finditer(text):
            digits = re.sub(r"\D", "", match.group(0))
            if card_brand(digits) is None or not luhn.is_valid(digits):
                continue
            score = base + _CARD_WORDS.score(text, match.start(), match.end())
            if score >= THRESHOLD:
                found.append(Finding("CARD", match.start(), match.end(), match.group(0), score))
    return found


def find_accounts(text: str) -> list[Finding]:
    """Bank accounts: a known bank grouping (see ``ACCOUNT_GROUPS``) or 10-14 bare digits,
    kept only when the nearest keyword is an account word (계좌, 입금, 예금주, a bank ...)."""
    found: list[Finding] = []
    for match in _ACCOUNT_GROUPED.finditer(text):
        groups = tuple(len(part) for part in match.group(0).split("-"))
        if groups not in ACCOUNT_GROUPS or _DATE_LED.match(match.group(0)):
            continue
        score = 0.2 + _ACCOUNT_WORDS.score(text, match.start(), match.end())
        if score >= THRESHOLD:
            found.append(Finding("ACCOUNT", match.start(), match.end(), match.group(0), score))
    for match in _ACCOUNT_BARE.finditer(text):
        # A bare mobile number next to 입금 is still a phone number.
        if match.group(0).startswith("01"):
            continue
        score = 0.1 + _ACCOUNT_WORDS.score(text, match.start(), match.end())
        if score >= THRESHOLD:
            found.append(Finding("ACCOUNT", match.start(), match.end(), match.group(0), score))
    return found
