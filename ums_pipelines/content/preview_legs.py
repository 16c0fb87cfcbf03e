"""One rendered leg of a preview: compose's row as shown (contact masked), its size
against its channel's limit, counted as the channel counts, and its violations.

The numbers come from the channel check (``check_message``: EUC-KR bytes for SMS/LMS/MMS,
characters for RCS and Kakao) and from the push check's wire size; the limits from the
same ``ChannelLimits`` the checks apply, so "72 / 90 bytes (SMS)" is the check's verdict.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal

from ums_pipelines.channels.checks import CheckResult, push_wire_size
from ums_pipelines.channels.checks.push import KEY_RESERVE
from ums_pipelines.channels.content import ContentError, ContentStore
from ums_pipelines.channels.limits import ChannelLimits
from ums_pipelines.channels.payload import Payload
from ums_pipelines.dispatch.compose import check_leg
from ums_pipelines.masking import mask_email, mask_phone
from ums_pipelines.store.models import Job

__all__ = ["Count", "LegView", "count_for", "inline_images", "leg_view"]

_LIMITS = ChannelLimits()
_INLINE_IMAGE_BYTES = 2 * 1024 * 1024
_INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/bmp")
_INTL_ENCODINGS = {"cp949": "EUC-KR", "utf-8": "UTF-8", "ucs-2": "UCS-2"}


@dataclass(frozen=True)
class Count:
    """``used`` (in ``unit``) is what ``limit`` bounds; chars and bytes are both shown."""

    chars: int
    bytes: int
    encoding: str  # how ``bytes`` are counted: EUC-KR, UTF-8, FCM JSON, APNs JSON
    used: int
    unit: str  # bytes | chars
    limit: int | None
    basis: str  # the type the limit is of: SMS, LMS, RCS_LMS, ALIMTALK, FRIENDTALK_WIDE...

    @property
    def ok(self) -> bool:
        return self.limit is None or self.used <= self.limit

    @property
    def text(self) -> str:
        if self.limit is None:
            return f"{self.used:,} {self.unit} ({self.basis})"
        return f"{self.used:,} / {self.limit:,} {self.unit} ({self.basis})"


def count_for(
    channel: str,
    message_type: str,
    result: CheckResult,
    body: str,
    subject: str | None,
    payload: Payload | None,
    limits: ChannelLimits = _LIMITS,
) -> Count:
    """The count of one rendered leg; ``result`` is the channel check of that leg."""
    utf8 = len(body.encode("utf-8", errors="replace"))
    chars = result.chars
    if channel == "sms":
        # The check counted the body in the relay's encoding (EUC-KR at home).
        if message_type == "INTL_SMS":
            intl = limits.intl_sms
            encoding, limit = _INTL_ENCODINGS[intl.encoding], intl.max_bytes
        else:
            encoding = "EUC-KR"
            sms = limits.sms
            limit = sms.sms_max_bytes if message_type == "SMS" else sms.lms_max_bytes
        return Count(chars, result.bytes, encoding, result.bytes, "bytes", limit, message_type)
    if channel == "push":
        platform: Literal["fcm", "apns"] = "apns" if message_type == "APNS" else "fcm"
        options = payload.push if payload is not None else None
        wire = push_wire_size(platform, subject or "", body, options, key="k" * KEY_RESERVE)
        cap = limits.push.apns_max_bytes if platform == "apns" else limits.push.fcm_max_bytes
        name = "APNs JSON" if platform == "apns" else "FCM JSON"
        return Count(chars, wire, name, wire, "bytes", cap, message_type)
    char_limit: int | None = None
    if channel == "rcs":
        rcs = limits.rcs
        per_type = {"RCS_SMS": rcs.sms_max_chars, "RCS_LMS": rcs.lms_max_chars}
        char_limit = {**per_type, "RCS_MMS": rcs.mms_max_chars}.get(message_type)
    elif channel == "alimtalk":
        char_limit = limits.alimtalk.max_chars
    elif channel in ("friendtalk", "brand"):
        typed = limits.friendtalk if channel == "friendtalk" else limits.brand
        kind = (payload.kakao_type if payload else None) or (
            "IMAGE" if payload and payload.images else "TEXT"
        )
        rules = typed.types.get(kind.upper())
        char_limit = rules.max_chars if rules is not None else None
    if char_limit is not None:
        return Count(chars, utf8, "UTF-8", chars, "chars", char_limit, message_type)
    # E-mail and letters have no text limit: their size is shown for information.
    return Count(chars, utf8, "UTF-8", utf8, "bytes", None, message_type)


@dataclass(frozen=True)
class LegView:
    """One rendered leg, exactly as compose would queue it (contact masked)."""

    channel: str
    leg: int
    message_type: str
    state: str  # queued | failed: what compose would do with the row
    to: str
    sender: str | None
    subject: str | None
    body: str
    html: str | None
    payload: Payload | None
    template_code: str | None
    count: Count | None
    violations: tuple[str, ...]
    warnings: tuple[str, ...]
    error: str | None  # a render or address failure (the customer's error), not a violation
    error_code: str | None

    @property
    def ok(self) -> bool:
        return self.state == "queued" and not self.violations


def _masked_contact(channel: str, recipient: str) -> str:
    if not recipient:
        return ""
    if channel == "email":
        return mask_email(recipient)
    if channel == "push":
        return f"{recipient[:4]}…" if len(recipient) > 8 else "***"
    if channel == "dm":
        return f"{recipient.split(' ', 1)[0]} ***"  # the postcode; the address is hidden
    return mask_phone(recipient)


def leg_view(job: Job, row: dict[str, Any]) -> LegView:
    channel, message_type = row["channel"], row["message_type"]
    payload = Payload.from_json(row["payload"]) if row["payload"] else None
    body, subject = row["body"], row["subject"]
    reason, code = row["error_reason"], row["error_code"]
    count: Count | None = None
    violations: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    if code != "E-RENDER":
        # The check compose runs (it skips plain informational SMS, whose size rendering
        # already enforced): the same arguments, so its violations are compose's.
        result = check_leg(channel, message_type, body, subject, payload, job, row["country"])
        count = count_for(channel, message_type, result, body, subject, payload)
        violations = tuple(v.message for v in result.violations)
        warnings = tuple(w.message for w in result.warnings)
    error = reason if reason and (code != "E-CHECK" or not violations) else None
    return LegView(
        channel=channel,
        leg=row["leg"],
        message_type=message_type,
        state=row["state"],
        to=_masked_contact(channel, row["recipient"]),
        sender=row["sender"],
        subject=subject,
        body=body,
        html=row["html_body"],
        payload=payload,
        template_code=row["provider_template_code"],
        count=count,
        violations=violations,
        warnings=warnings,
        error=error,
        error_code=code if error else None,
    )


def inline_images(store: ContentStore, legs: list[LegView]) -> dict[str, str]:
    """Image ref -> data: URI for the legs' stored images (the page has no external
    assets); a bigger or missing one is shown as a placeholder with its size."""
    uris: dict[str, str] = {}
    for image in (i for leg in legs if leg.payload for i in leg.payload.images):
        if image.ref in uris or image.content_type not in _INLINE_TYPES:
            continue
        if image.size_bytes > _INLINE_IMAGE_BYTES:
            continue
        try:
            data = store.get(image.ref)
        except (ContentError, OSError):
            continue  # shown as a placeholder with its declared size
        uris[image.ref] = f"data:{image.content_type};base64,{base64.b64encode(data).decode()}"
    return uris
