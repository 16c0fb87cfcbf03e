"""RCS Biz Center: SMS/LMS/MMS/template message bases, buttons, senders, advertising."""

from __future__ import annotations

from ums_pipelines.channels.checks.common import (
    Found,
    check_ad,
    check_buttons,
    check_characters,
    check_images,
)
from ums_pipelines.channels.checks.kakao import TemplateMismatch, match_template
from ums_pipelines.channels.checks.result import Code, n
from ums_pipelines.channels.limits import ChannelLimits
from ums_pipelines.channels.payload import Payload

__all__ = ["check_rcs", "rcs_message_type"]


def rcs_message_type(payload: Payload, text: str, subject: str | None, sms_max_chars: int) -> str:
    """The message base the RCS options name (as compose decides it, see
    ``rendering.message_type_for``); without options the smallest that fits: MMS with
    an image, LMS with a title or above the SMS length, SMS otherwise."""
    if payload.rcs is not None:
        return payload.rcs.rcs_type
    if payload.images:
        return "MMS"
    if subject or len(text) > sms_max_chars:
        return "LMS"
    return "SMS"


def check_rcs(
    found: Found,
    text: str,
    *,
    subject: str | None,
    purpose: str | None,
    payload: Payload,
    sender_digits: str | None,
    international: bool,
    approved_template: str | None,
    limits: ChannelLimits,
) -> str:
    rcs = limits.rcs
    for field_name, value in [("text", text)] + ([("subject", subject)] if subject else []):
        check_characters(found, "rcs", field_name, value, limits.emoji_max_version)
    kind = rcs_message_type(payload, text, subject, rcs.sms_max_chars)
    if international:
        found.add(
            Code.INTL_NOT_SUPPORTED,
            "recipient: RCS reaches Korean handsets only; send abroad by SMS",
        )
    max_chars = {"SMS": rcs.sms_max_chars, "LMS": rcs.lms_max_chars, "MMS": rcs.mms_max_chars}
    if kind in max_chars and len(text) > max_chars[kind]:
        found.add(
            Code.BODY_TOO_LONG,
            f"text: {n(len(text))} characters, an RCS {kind} carries {n(max_chars[kind])} at most",
        )
    if kind == "SMS" and subject:
        found.add(Code.SUBJECT_NOT_ALLOWED, "subject: an RCS SMS has no title; use LMS")
    if kind == "SMS" or kind == "LMS":
        if payload.images:
            found.add(Code.TOO_MANY_IMAGES, f"images: an RCS {kind} carries none; use MMS")
    elif kind == "MMS":
        if not payload.images:
            found.add(Code.IMAGE_MISSING, "images: an RCS MMS needs an image")
        check_images(
            found,
            payload.images,
            what="an RCS MMS",
            max_count=rcs.max_images,
            types=rcs.image_types,
            max_bytes=rcs.image_max_bytes,
        )
    else:  # TEMPLATE
        options = payload.rcs
        if options is None or not options.message_base_id:
            found.add(
                Code.TEMPLATE_MISSING,
                "rcs.message_base_id: an RCS template message names its approved template",
            )
        if approved_template is not None:
            try:
                match_template(approved_template, text)
            except TemplateMismatch as exc:
                found.add(Code.TEMPLATE_MISMATCH, str(exc))
    check_buttons(
        found,
        payload.buttons,
        limits.buttons,
        max_buttons=rcs.max_buttons,
        allowed_types=limits.buttons.rcs_types,
        what="an RCS message",
    )
    if sender_digits is not None:
        for prefix in rcs.banned_sender_prefixes:
            if sender_digits.startswith(prefix):
                found.add(
                    Code.RCS_SENDER_MOBILE,
                    f"sender: {prefix} (mobile) numbers cannot be RCS senders;"
                    " use the brand's registered number",
                )
    if purpose == "ad":
        check_ad(found, "text", text, limits.ad, channel_name="RCS advertising")
    return f"RCS_{kind}"
