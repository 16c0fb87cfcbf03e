"""Korean mobile numbers: validation and normalisation with Google's libphonenumber rules."""

from __future__ import annotations

import re

import phonenumbers

from ums_pipelines.masking import mask_phone

__all__ = ["InvalidPhone", "normalize_kr_mobile", "to_e164"]

# phonenumbers quietly drops letters and converts vanity letters to digits; a customer
# record with letters in its phone field is a data error, not a vanity number.
_ALLOWED = re.compile(r"^\+?[\d\s().-]{7,24}$")
_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


class InvalidPhone(ValueError):
    """A number that is not what was asked for; the message only holds the masked form."""


def _parse_kr(raw: str) -> phonenumbers.PhoneNumber | None:
    text = raw.strip()
    if not _ALLOWED.match(text):
        return None
    try:
        number = phonenumbers.parse(text, "KR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.region_code_for_number(number) != "KR":
        return None
    return number


def normalize_kr_mobile(raw: str) -> str:
    """``"010-1234-5678"``, ``"+82 10 1234 5678"``, ``"01012345678"`` → ``"01012345678"``.

    Raises :class:`InvalidPhone` for anything that is not a valid Korean mobile number.
    """
    number = _parse_kr(raw)
    if number is None or phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidPhone(f"not a Korean mobile number ({mask_phone(raw)})")
    return "0" + phonenumbers.national_significant_number(number)


def to_e164(digits: str) -> str:
    """A Korean number in national form (``"01012345678"``) → ``"+821012345678"``."""
    number = _parse_kr(digits)
    if number is None:
        raise InvalidPhone(f"not a valid Korean phone number ({mask_phone(digits)})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
