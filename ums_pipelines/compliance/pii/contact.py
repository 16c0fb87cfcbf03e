"""Recognisers for phone numbers (Korean mobile and landline, national or +82) and e-mail
addresses.

Phone candidates come from a loose pattern and are confirmed with ``phonenumbers`` (a
real KR number range). Nationwide representative numbers (1588-xxxx and the like) are
businesses' numbers, not personal data, and are not matched.
"""

from __future__ import annotations

import re

import phonenumbers

from ums_pipelines.compliance.pii.findings import AFTER, BEFORE, THRESHOLD, Context, Finding

__all__ = ["find_emails", "find_phones"]

_PREFIX = r"(?:1[016789]|2|[3-6][1-5]|70|50[2-8])"
# Between digit groups: nothing, one separator, or a dash/dot with spaces around it.
_SEP = r"(?:\s?[-.]\s?|\s)?"
_PHONE_NATIONAL = re.compile(
    BEFORE
    + r"(?:\(0"
    + _PREFIX
    + r"\)\s?|0"
    + _PREFIX
    + _SEP
    + r")\d{3,4}"
    + _SEP
    + r"\d{4}"
    + AFTER
)
_PHONE_INTERNATIONAL = re.compile(
    r"(?<![\w+])\+82"
    + _SEP
    + r"(?:\(0\)\s?)?0?"
    + _PREFIX
    + _SEP
    + r"\d{3,4}"
    + _SEP
    + r"\d{4}"
    + AFTER
)
_PHONE_WORDS = Context.of(
    ["연락처", "전화번호", "전화", "휴대폰", "핸드폰", "휴대전화", "문의", "phone", "mobile", "tel"]
)
_PERSONAL_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.VOIP,
        phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    }
)

_EMAIL = re.compile(
    r"(?<![\w.%+'-])[A-Za-z0-9](?:[A-Za-z0-9._%+'-]*[A-Za-z0-9_%+-])?"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,24}(?![A-Za-z0-9-]|\.[A-Za-z0-9])"
)


def _is_personal_number(value: str) -> bool:
    try:
        number = phonenumbers.parse(value, "KR")
    except phonenumbers.NumberParseException:
        return False
    if number.country_code != 82 or not phonenumbers.is_valid_number(number):
        return False
    return phonenumbers.number_type(number) in _PERSONAL_TYPES


def find_phones(text: str) -> list[Finding]:
    """Korean phone numbers: 010-1234-5678, 01012345678, 02-123-4567, (031) 123-4567,
    +82 10-1234-5678; kept unless an order/transaction label is nearest."""
    found: list[Finding] = []
    for pattern in (_PHONE_NATIONAL, _PHONE_INTERNATIONAL):
        for match in pattern.finditer(text):
            value = match.group(0)
            if not _is_personal_number(value):
                continue
            base = 0.7 if re.search(r"\D", value) else 0.6
            score = base + _PHONE_WORDS.score(text, match.start(), match.end())
            if score >= THRESHOLD:
                found.append(Finding("PHONE", match.start(), match.end(), value, score))
    return found


def find_emails(text: str) -> list[Finding]:
    """E-mail addresses with a dotted domain and an alphabetic top-level label; template
    tags (``{{ customer.email }}``) and npm-style ``pkg@1.2.3`` do not match."""
    return [
        Finding("EMAIL", match.start(), match.end(), match.group(0), 0.9)
        for match in _EMAIL.finditer(text)
    ]
