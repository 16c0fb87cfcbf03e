"""Channel checks: would this message go out as the relay, Kakao, RCS, FCM/APNs, the
mail system or the print vendor expects? ``check_message`` answers before approval and
again at compose, with the type that would be sent and every violation by field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from ums_pipelines.channels.checks.common import Found, check_sender, normalize_purpose
from ums_pipelines.channels.checks.email import check_dm, check_email, executable_reason
from ums_pipelines.channels.checks.kakao import (
    TemplateMismatch,
    check_alimtalk,
    check_kakao_typed,
    match_template,
    template_variables,
)
from ums_pipelines.channels.checks.push import apns_payload, check_push, fcm_message, push_wire_size
from ums_pipelines.channels.checks.rcs import check_rcs
from ums_pipelines.channels.checks.result import CheckResult, Code, Violation
from ums_pipelines.channels.checks.sms import check_sms, encoded_size
from ums_pipelines.channels.limits import ChannelLimits
from ums_pipelines.channels.payload import Payload

__all__ = [
    "CHECK_CHANNELS",
    "CheckResult",
    "Code",
    "TemplateMismatch",
    "Violation",
    "apns_payload",
    "check_message",
    "encoded_size",
    "executable_reason",
    "fcm_message",
    "match_template",
    "push_wire_size",
    "template_variables",
]

# The channels a check takes: ``lms``/``mms`` ask for that type of the ``sms`` channel.
CHECK_CHANNELS = (
    "sms", "lms", "mms", "rcs", "alimtalk", "friendtalk", "brand", "push", "email", "dm",
)  # fmt: skip
_SMS_FAMILY = ("sms", "lms", "mms")
_DEFAULT_LIMITS = ChannelLimits()


def _as_payload(payload: Payload | Mapping[str, Any] | None) -> Payload | None:
    if payload is None or isinstance(payload, Payload):
        return payload
    return Payload.model_validate(dict(payload))


def check_message(
    channel: str,
    text: str,
    *,
    subject: str | None = None,
    purpose: str | None = None,
    payload: Payload | Mapping[str, Any] | None = None,
    sender: str | None = None,
    approved_template: str | None = None,
    limits: ChannelLimits | None = None,
    country: str | None = None,
    push_platform: Literal["fcm", "apns"] = "fcm",
    read_content: Callable[[str], bytes] | None = None,
) -> CheckResult:
    """Check one message (a template's text, or a rendered message) for ``channel``.

    ``purpose`` is info/ad/auth (or informational/advertising); ``country`` the ISO code
    of an international recipient (None or KR: domestic); ``read_content`` returns a
    stored attachment's bytes (``ContentStore.get``) so programs are caught by their
    first bytes too. Raises ``ValueError`` naming the argument for an unknown channel,
    purpose or platform; everything about the message itself is a violation.
    """
    if channel not in CHECK_CHANNELS:
        raise ValueError(f"channel: {channel!r} is not one of {', '.join(CHECK_CHANNELS)}")
    if push_platform not in ("fcm", "apns"):
        raise ValueError(f"push_platform: {push_platform!r} is not fcm or apns")
    kind_of_purpose = normalize_purpose(purpose)
    limits = limits or _DEFAULT_LIMITS
    given = _as_payload(payload)
    parts = given or Payload()
    international = country is not None and country.strip().upper() not in ("", "KR")
    found = Found()
    if not text.strip() and not (parts.images or parts.attachments):
        found.add(Code.TEXT_EMPTY, "text: empty")
    sender_digits = None
    if sender is not None and channel in (*_SMS_FAMILY, "rcs"):
        sender_digits = check_sender(found, sender, limits.sender)
    size = len(text.encode("utf-8", errors="replace"))
    if channel in _SMS_FAMILY:
        kind, size = check_sms(
            found,
            channel,
            text,
            subject=subject,
            purpose=kind_of_purpose,
            payload=parts,
            international=international,
            limits=limits,
        )
    elif channel == "rcs":
        kind = check_rcs(
            found,
            text,
            subject=subject,
            purpose=kind_of_purpose,
            payload=parts,
            sender_digits=sender_digits,
            international=international,
            approved_template=approved_template,
            limits=limits,
        )
    elif channel == "alimtalk":
        kind = check_alimtalk(
            found,
            text,
            purpose=kind_of_purpose,
            payload=parts,
            approved_template=approved_template,
            limits=limits,
        )
    elif channel in ("friendtalk", "brand"):
        kind = check_kakao_typed(
            found, channel, text, purpose=kind_of_purpose, payload=parts, limits=limits
        )
    elif channel == "push":
        kind = check_push(
            found,
            text,
            subject=subject,
            purpose=kind_of_purpose,
            payload=parts,
            platform=push_platform,
            limits=limits,
        )
    elif channel == "email":
        kind = check_email(
            found,
            text,
            subject=subject,
            purpose=kind_of_purpose,
            payload=parts,
            read_content=read_content,
            limits=limits,
        )
    else:
        kind = check_dm(found, text, payload=given, limits=limits)
    return CheckResult(
        ok=not found.violations,
        channel=channel,
        message_type=kind,
        bytes=size,
        chars=len(text),
        violations=found.violations,
        warnings=found.warnings,
    )
