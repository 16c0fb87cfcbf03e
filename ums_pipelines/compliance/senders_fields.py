"""Validating sender registry entries: each kind's value and the common fields."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

__all__ = ["FIELDS", "KINDS", "NOUNS", "SenderError", "check_fields", "check_window", "clean_value"]

KINDS = ("number", "kakao_profile", "rcs_brand", "rcs_chatbot", "email_domain")
# The field a value is named by in errors, as the send paths call it.
FIELDS = {
    "number": "sender_number",
    "kakao_profile": "sender_key",
    "rcs_brand": "brand_id",
    "rcs_chatbot": "chatbot_id",
    "email_domain": "domain",
}
# Landline, mobile, 070/080 numbers: 0 and 8-10 digits; nationwide special numbers
# (대표번호): 15xx, 16xx, 18xx and 4 digits.
_NUMBER = re.compile(r"0\d{8,10}|1[568]\d{6}")
# A Kakao Business sender profile key (발신프로필 키): 40 hexadecimal characters.
_SENDER_KEY = re.compile(r"[0-9a-f]{40}")
_BRAND = re.compile(r"BR\.[A-Za-z0-9][A-Za-z0-9_-]{0,59}")
_DOMAIN_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_DEPARTMENT = re.compile(r"\w[\w.-]{0,63}")


class SenderError(ValueError):
    """A registry entry that cannot be stored, or a sender a job may not use; the message
    names the field and the reason."""


NOUNS = {
    "number": "number",
    "kakao_profile": "profile",
    "rcs_brand": "brand",
    "rcs_chatbot": "chatbot",
    "email_domain": "domain",
}


def clean_value(kind: str, value: str) -> str:
    """The stored form of a sender, or SenderError naming what is wrong with it."""
    if kind not in KINDS:
        raise SenderError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    field = FIELDS[kind]
    raw = value.strip() if isinstance(value, str) else ""
    if kind in ("number", "rcs_chatbot"):  # an RCS chatbot is known by its caller number
        digits = re.sub(r"[\s().-]", "", raw)
        if not _NUMBER.fullmatch(digits):
            raise SenderError(
                f"{field}: {value!r} is not a caller number (9-11 digits from 0, or a"
                " 15xx/16xx/18xx number of 8 digits)"
            )
        return digits
    if kind == "kakao_profile":
        if not _SENDER_KEY.fullmatch(raw.lower()):
            raise SenderError(f"{field}: {value!r} is not a Kakao sender profile key (40 hex)")
        return raw.lower()
    if kind == "rcs_brand":
        if not _BRAND.fullmatch(raw):
            raise SenderError(f"{field}: {value!r} is not an RCS brand id ('BR.' and an id)")
        return raw
    try:  # an internationalised domain is stored as its ASCII (punycode) form
        domain = raw.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        domain = ""
    labels = domain.split(".")
    if (
        len(labels) < 2
        or len(domain) > 253
        or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        or not re.fullmatch(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}", labels[-1])
    ):
        raise SenderError(f"{field}: {value!r} is not a domain name (e.g. mail.umsbank.co.kr)")
    return domain


def _text(field: str, value: str | None, limit: int, required: bool) -> str | None:
    text = unicodedata.normalize("NFC", value.strip()) if isinstance(value, str) else ""
    if not text:
        if required:
            raise SenderError(f"{field}: required")
        return None
    if len(text) > limit:
        raise SenderError(f"{field}: {len(text)} characters, more than {limit}")
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise SenderError(f"{field}: control characters and line breaks are not allowed")
    return text


def check_fields(kind: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Validate the given fields of an entry; the others are not looked at."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "label":
            out[name] = _text("label", value, 100, required=True)
        elif name == "proof_ref":
            out[name] = _text("proof_ref", value, 128, required=False)
        elif name == "department":
            if value is not None and not (isinstance(value, str) and _DEPARTMENT.fullmatch(value)):
                raise SenderError(
                    f"department: {value!r} is not an identifier"
                    " (letters, digits, '_', '.', '-', 1-64, no spaces)"
                )
            out[name] = value
        elif name in ("valid_from", "valid_until"):
            if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
                raise SenderError(f"{name}: {value} has no time zone (give +09:00 or UTC)")
            # Stored in UTC: SQLite keeps the wall time and drops the zone.
            out[name] = value.astimezone(UTC) if value is not None else None
        elif name == "active":
            out[name] = bool(value)
        elif name == "detail" and kind != "number":
            if value is not None and not isinstance(value, dict):
                raise SenderError("detail: an object of named values is needed")
            out[name] = value or None
        else:
            raise SenderError(f"{name}: not a field of a {kind} entry")
    return out


def check_window(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and until <= since:
        raise SenderError("valid_until: the validity ends before it begins")
