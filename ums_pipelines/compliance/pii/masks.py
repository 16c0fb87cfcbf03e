"""Masked renderings of PII findings: enough for a reviewer to locate the value, not use it.

Phone numbers and e-mail addresses use the application-wide helpers in
``ums_pipelines.masking``; identity numbers keep what a Korean form shows on screen by
convention (birth date and gender digit of an RRN), cards and accounts their last four.
"""

from __future__ import annotations

from ums_pipelines.masking import mask_email, mask_phone

__all__ = ["mask_digits", "mask_value"]


def mask_digits(value: str, *, keep_head: int = 0, keep_tail: int = 0) -> str:
    """Replace digits and letters by ``*`` except the first ``keep_head`` and last
    ``keep_tail`` of them; separators stay so the shape remains recognisable."""
    positions = [index for index, char in enumerate(value) if char.isalnum()]
    total = len(positions)
    # Never reveal more than half of the characters, whatever the caller asked.
    keep_head = min(keep_head, total // 2)
    keep_tail = max(0, min(keep_tail, total // 2 - keep_head))
    hidden = set(positions[keep_head : total - keep_tail])
    return "".join("*" if index in hidden else char for index, char in enumerate(value))


def mask_value(pii_type: str, value: str) -> str:
    """The masked form of ``value`` found as ``pii_type``.

    ``900101-1234567`` → ``900101-1******``; ``4111-1111-1111-1111`` →
    ``****-****-****-1111``; ``010-1234-5678`` → ``010-****-5678``;
    ``kim@example.com`` → ``k***@example.com``.
    """
    if pii_type == "EMAIL":
        return mask_email(value)
    if pii_type == "PHONE":
        return mask_phone(value)
    if pii_type in ("KR_RRN", "KR_FRN"):
        digits = "".join(char for char in value if char.isdigit())
        return f"{digits[:6]}-{digits[6:7]}{'*' * (len(digits) - 7)}"
    if pii_type in ("CARD", "ACCOUNT"):
        return mask_digits(value, keep_tail=4)
    if pii_type in ("PASSPORT", "DRIVER_LICENSE"):
        # The passport type letter and the licence's region code say nothing personal.
        return mask_digits(value, keep_head=1 if pii_type == "PASSPORT" else 2)
    if pii_type == "KR_BRN":
        return mask_digits(value, keep_head=5)
    return mask_digits(value)
