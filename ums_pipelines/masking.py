"""Masking of personal data for logs, error messages and reports.

Application logs must never hold personal data (PIPA; see shared/DOMAIN.md), so every
message that may echo customer input goes through these helpers first. Masked forms keep
just enough for an operator to recognise a value: ``010-****-5678``, ``김*수``,
``k***@example.com``, ``******-*******``.
"""

from __future__ import annotations

import re

__all__ = ["mask_email", "mask_name", "mask_phone", "mask_rrn", "mask_text"]

_NON_DIGIT = re.compile(r"\D")

# RRN-like: 6 digits (birth date), optional dash, 7 digits. The check digit is not
# verified: numbers issued since October 2020 have random trailing digits.
_RRN = r"(?<!\d)\d{6}[-\s]?\d{7}(?!\d)"
# Korean phone numbers, mobile and landline, national (0...) or international (+82 ...),
# with or without separators. Deliberately loose: masking too much is harmless.
_PHONE = (
    r"(?<![\d+(])\(?(?:\+?82[-.\s]?(?:\(0\))?0?|0)"
    r"(?:1[016789]|2|[3-6][1-5]|70|50\d)"
    r"[-.\s)]{0,2}\d{3,4}[-.\s]?\d{4}(?!\d)"
)
# A pragmatic address shape; false positives only cost a few masked characters.
_EMAIL = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_PATTERN = re.compile(f"(?P<email>{_EMAIL})|(?P<rrn>{_RRN})|(?P<phone>{_PHONE})")


def mask_phone(value: str) -> str:
    """``010-1234-5678`` / ``+82 10 1234 5678`` → ``010-****-5678``.

    Anything with fewer than nine digits is masked completely, because a partial number
    is not recognisable as a phone number and its last four digits would be most of it.
    """
    digits = _NON_DIGIT.sub("", value)
    if value.lstrip().startswith("+82") or (digits.startswith("82") and len(digits) >= 11):
        digits = "0" + digits[2:].lstrip("0")
    if len(digits) < 9:
        return "*" * max(len(digits), 3)
    head = "02" if digits.startswith("02") else digits[:3]
    hidden = len(digits) - len(head) - 4
    return f"{head}-{'*' * hidden}-{digits[-4:]}"


def mask_name(value: str) -> str:
    """``김민수`` → ``김*수``; ``김수`` → ``김*``; ``남궁민수`` → ``남**수``."""
    name = value.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_email(value: str) -> str:
    """``kim.minsu@example.com`` → ``k***@example.com``; a non-address is masked whole."""
    local, sep, domain = value.strip().rpartition("@")
    if not sep or not local or not domain:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_rrn(value: str) -> str:
    """A resident registration number (or anything shaped like one) → ``******-*******``."""
    return "******-*******" if len(_NON_DIGIT.sub("", value)) == 13 else "***"


def mask_text(text: str) -> str:
    """Mask every phone number, e-mail address and RRN-like number found in free text."""

    def _replace(match: re.Match[str]) -> str:
        if match.group("email"):
            return mask_email(match.group(0))
        if match.group("rrn"):
            return mask_rrn(match.group(0))
        return mask_phone(match.group(0))

    return _PATTERN.sub(_replace, text)
