"""SMS/LMS/MMS, domestic (EUC-KR bytes) and international (the relay's own encoding)."""

from __future__ import annotations

from ums_pipelines.channels.checks.common import (
    Found,
    check_ad,
    check_characters,
    check_images,
)
from ums_pipelines.channels.checks.result import Code, n
from ums_pipelines.channels.limits import ChannelLimits
from ums_pipelines.channels.payload import Payload

__all__ = ["check_sms", "encoded_size", "sms_message_type"]

_ENCODING_NAMES = {"cp949": "EUC-KR", "utf-8": "UTF-8", "ucs-2": "UCS-2"}


def encoded_size(text: str, encoding: str) -> int:
    """Bytes as the relay counts them; a character the encoding lacks counts as the
    relay's one-byte "?" (the check reports it separately)."""
    if encoding == "ucs-2":
        return 2 * len(text) + 2 * sum(1 for c in text if ord(c) > 0xFFFF)
    return len(text.encode(encoding, errors="replace"))


def sms_message_type(
    channel: str, body_bytes: int, subject: str | None, has_images: bool, sms_max: int
) -> str:
    """MMS with images; LMS with a subject or above the SMS size; ``lms``/``mms`` asked
    for by name are sent as that type even when the text would fit an SMS."""
    if has_images or channel == "mms":
        return "MMS"
    if subject or channel == "lms" or body_bytes > sms_max:
        return "LMS"
    return "SMS"


def _check_ucs2(found: Found, field_name: str, text: str) -> None:
    for position, char in enumerate(text):
        if ord(char) > 0xFFFF:
            found.add(
                Code.NOT_ENCODABLE,
                f"{field_name}: U+{ord(char):04X} at position {position} is outside UCS-2;"
                " this relay's international SMS cannot carry it",
            )
            return


def check_sms(
    found: Found,
    channel: str,
    text: str,
    *,
    subject: str | None,
    purpose: str | None,
    payload: Payload,
    international: bool,
    limits: ChannelLimits,
) -> tuple[str, int]:
    """Validate and return (message type, body bytes)."""
    sms = limits.sms
    if international:
        encoding = limits.intl_sms.encoding
        max_body, max_subject = limits.intl_sms.max_bytes, limits.intl_sms.subject_max_bytes
        carrier = "this relay's international"
    else:
        encoding, carrier = "cp949", "an"
        max_body, max_subject = sms.lms_max_bytes, sms.subject_max_bytes
    fields = [("text", text)] + ([("subject", subject)] if subject else [])
    for field_name, value in fields:
        if encoding == "cp949":
            check_characters(found, "sms", field_name, value, limits.emoji_max_version)
        else:
            check_characters(found, "push", field_name, value, limits.emoji_max_version)
            if encoding == "ucs-2":
                _check_ucs2(found, field_name, value)
    body = encoded_size(text, encoding)
    # Abroad one SMS carries what the relay takes (it concatenates): no LMS by size.
    size_for_type = 0 if international else body
    kind = sms_message_type(
        channel, size_for_type, subject, bool(payload.images), sms.sms_max_bytes
    )
    label = _ENCODING_NAMES[encoding]
    if body > max_body:
        found.add(
            Code.BODY_TOO_LONG,
            f"text: {n(body)} bytes in {label}, {carrier} {kind} carries {n(max_body)} at most",
        )
    if subject:
        size = encoded_size(subject, encoding)
        if size > max_subject:
            found.add(
                Code.SUBJECT_TOO_LONG,
                f"subject: {n(size)} bytes in {label}, {carrier} {kind} subject carries"
                f" {n(max_subject)} at most",
            )
    if kind == "MMS":
        check_images(
            found,
            payload.images,
            what="an MMS",
            max_count=sms.mms_max_images,
            types=sms.mms_image_types,
            max_bytes=sms.mms_image_max_bytes,
            max_width=sms.mms_max_width,
            max_height=sms.mms_max_height,
        )
    for part, items in (("buttons", payload.buttons), ("attachments", payload.attachments)):
        if items:
            found.add(Code.PART_NOT_ALLOWED, f"{part}: SMS/LMS/MMS carry none")
    if purpose == "ad":
        check_ad(found, "text", text, limits.ad)
    return kind, body
