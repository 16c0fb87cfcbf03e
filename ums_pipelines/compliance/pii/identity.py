"""Recognisers for Korean identity numbers: RRN, foreigner number, passport, licence, BRN.

Each recogniser scores a candidate (shape, check digit, context words) and keeps it when
the score reaches ``THRESHOLD``. Scores are plain sums, chosen so that: a dashed RRN with a
real birth date is kept without context; a bare 13-digit number is kept unless a label
such as 주문번호 or 거래번호 is nearest; shapes that many ids share (12 bare digits, 10 bare
digits) need a positive word such as 운전면허 or 사업자.
"""

from __future__ import annotations

import re
from datetime import date

from stdnum.exceptions import ValidationError
from stdnum.kr import brn as stdnum_brn

from ums_pipelines.compliance.pii.findings import (
    AFTER,
    BEFORE,
    THRESHOLD,
    Context,
    Finding,
    PiiType,
)

__all__ = [
    "brn_check_ok",
    "find_brn",
    "find_driver_licenses",
    "find_passports",
    "find_registration_numbers",
    "rrn_birth_date",
]

_RRN = re.compile(BEFORE + r"(\d{6})([-–]| ?)(\d)(\d{6})" + AFTER)
_RRN_WORDS = Context.of(
    ["주민등록번호", "주민번호", "주민등록", "주민", "실명번호", "생년월일", "RRN", "resident"]
)
_FRN_WORDS = Context.of(
    ["외국인등록번호", "외국인번호", "외국인", "등록번호", "FRN", "alien", "foreigner"]
)
_CENTURY = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000}
_CENTURY |= {"7": 2000, "8": 2000, "9": 1800, "0": 1800}

_PASSPORT = re.compile(BEFORE + r"[MSRODG](?:\d{8}|\d{3}[A-Z]\d{4})" + AFTER)
_PASSPORT_WORDS = Context.of(["여권번호", "여권", "passport", "旅券"])

_REGIONS = "서울|부산|경기|강원|충북|충남|전북|전남|경북|경남|제주|대구|인천|광주|대전|울산"
_LICENCE_CODE = re.compile(BEFORE + r"(?:1[1-9]|2[0-8])([-\s]?)\d{2}\1\d{6}\1\d{2}" + AFTER)
_LICENCE_NAMED = re.compile(
    r"(?<![가-힣])(?:" + _REGIONS + r")(?:북부|남부)?\s?\d{2}-?\d{6}-?\d{2}" + AFTER
)
_LICENCE_WORDS = Context.of(["운전면허번호", "운전면허", "면허번호", "면허", "driver", "licen"])

_BRN = re.compile(BEFORE + r"\d{3}(-?)\d{2}\1\d{5}" + AFTER)
_BRN_WORDS = Context.of(
    ["사업자등록번호", "사업자번호", "사업자", "등록번호", "법인", "BRN", "business", "tax id"]
)
_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def rrn_birth_date(digits: str, today: date | None = None) -> date | None:
    """The birth date encoded in a 13-digit RRN/FRN, or None if it is not a real, past date."""
    century = _CENTURY.get(digits[6])
    if century is None:
        return None
    try:
        born = date(century + int(digits[0:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return None
    return born if born <= (today or date.today()) else None


def _rrn_check_ok(digits: str) -> bool:
    # The pre-2020 check digit; FRNs added 2 before the final mod 10.
    total = sum(int(d) * w for d, w in zip(digits[:12], (2, 3, 4, 5, 6, 7, 8, 9) * 2, strict=False))
    offset = 13 if digits[6] in "5678" else 11
    return (offset - total % 11) % 10 == int(digits[12])


def find_registration_numbers(text: str) -> list[Finding]:
    """Resident (KR_RRN) and foreigner (KR_FRN) registration numbers.

    Shape: birth date YYMMDD (a real date, not in the future, in the century the 7th digit
    names), an optional dash, then 7 digits. The check digit is not required (numbers
    issued since October 2020 end in random digits); a valid one only adds confidence.
    """
    found: list[Finding] = []
    for match in _RRN.finditer(text):
        digits = match.group(1) + match.group(3) + match.group(4)
        if rrn_birth_date(digits) is None:
            continue
        foreign = digits[6] in "5678"
        score = {"": 0.5, " ": 0.3}.get(match.group(2), 0.65)
        if _rrn_check_ok(digits):
            score += 0.15
        words = _FRN_WORDS if foreign else _RRN_WORDS
        score += words.score(text, match.start(), match.end())
        if score >= THRESHOLD:
            kind: PiiType = "KR_FRN" if foreign else "KR_RRN"
            found.append(Finding(kind, match.start(), match.end(), match.group(0), score))
    return found


def find_passports(text: str) -> list[Finding]:
    """Korean passports: a type letter (M, S, R, O, D, G) and 8 digits, or the 2021 style
    M123A4567. Kept without context unless an order/product label is nearest."""
    found: list[Finding] = []
    for match in _PASSPORT.finditer(text):
        score = 0.6 + _PASSPORT_WORDS.score(text, match.start(), match.end())
        if score >= THRESHOLD:
            found.append(Finding("PASSPORT", match.start(), match.end(), match.group(0), score))
    return found


def find_driver_licenses(text: str) -> list[Finding]:
    """Driver's licences: region (code 11-28 or its name), 2-digit year, 6 digits, 2 digits.

    Dashed or with a region name the shape is distinctive; 12 bare digits need a licence
    word nearby.
    """
    found: list[Finding] = []
    for match in _LICENCE_CODE.finditer(text):
        base = 0.6 if match.group(1) == "-" else 0.2
        score = base + _LICENCE_WORDS.score(text, match.start(), match.end())
        if score >= THRESHOLD:
            found.append(
                Finding("DRIVER_LICENSE", match.start(), match.end(), match.group(0), score)
            )
    for match in _LICENCE_NAMED.finditer(text):
        score = 0.7 + _LICENCE_WORDS.score(text, match.start(), match.end())
        if score >= THRESHOLD:
            found.append(
                Finding("DRIVER_LICENSE", match.start(), match.end(), match.group(0), score)
            )
    return found


def brn_check_ok(value: str) -> bool:
    """python-stdnum's structural checks on a BRN plus its check digit (stdnum 2.x checks
    only the structure): weights 1,3,7,1,3,7,1,3,5 and the carry of the 9th digit × 5."""
    try:
        digits = stdnum_brn.validate(value)
    except ValidationError:
        return False
    total = sum(int(d) * w for d, w in zip(digits, _BRN_WEIGHTS, strict=False))
    total += int(digits[8]) * 5 // 10
    return (10 - total % 10) % 10 == int(digits[9])


def find_brn(text: str) -> list[Finding]:
    """Business registration numbers ###-##-##### with a valid check digit; 10 bare digits
    also need a word such as 사업자 nearby."""
    found: list[Finding] = []
    for match in _BRN.finditer(text):
        if not brn_check_ok(match.group(0)):
            continue
        base = 0.6 if match.group(1) else 0.2
        score = base + _BRN_WORDS.score(text, match.start(), match.end())
        if score >= THRESHOLD:
            found.append(Finding("KR_BRN", match.start(), match.end(), match.group(0), score))
    return found
