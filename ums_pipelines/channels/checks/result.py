"""What a channel check returns: the type that would be sent, its size, and violations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CheckResult", "Code", "Violation", "n"]


class Code:
    """Violation codes, stable: compose stores them on failed rows, tests match them."""

    TEXT_EMPTY = "TEXT_EMPTY"
    NOT_CP949 = "NOT_CP949"  # a character SMS/LMS/MMS (EUC-KR) cannot carry
    NOT_ENCODABLE = "NOT_ENCODABLE"  # outside the international relay's encoding
    UNUSABLE_CHAR = "UNUSABLE_CHAR"  # control, private-use or surrogate on any channel
    BODY_TOO_LONG = "BODY_TOO_LONG"
    SUBJECT_TOO_LONG = "SUBJECT_TOO_LONG"
    SUBJECT_NOT_ALLOWED = "SUBJECT_NOT_ALLOWED"
    PART_NOT_ALLOWED = "PART_NOT_ALLOWED"  # buttons on an SMS, attachments on a push...
    TOO_MANY_IMAGES = "TOO_MANY_IMAGES"
    IMAGE_MISSING = "IMAGE_MISSING"
    IMAGE_TYPE = "IMAGE_TYPE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    IMAGE_PIXELS = "IMAGE_PIXELS"
    TEMPLATE_MISMATCH = "TEMPLATE_MISMATCH"
    TEMPLATE_MISSING = "TEMPLATE_MISSING"
    TOO_MANY_VARIABLES = "TOO_MANY_VARIABLES"
    PURPOSE_NOT_ALLOWED = "PURPOSE_NOT_ALLOWED"
    KAKAO_TYPE = "KAKAO_TYPE"
    TOO_MANY_BUTTONS = "TOO_MANY_BUTTONS"
    BUTTON_TYPE = "BUTTON_TYPE"
    BUTTON_NAME = "BUTTON_NAME"
    BUTTON_FIELD_MISSING = "BUTTON_FIELD_MISSING"
    BUTTON_URL = "BUTTON_URL"
    AD_LABEL_MISSING = "AD_LABEL_MISSING"
    AD_OPTOUT_MISSING = "AD_OPTOUT_MISSING"
    SENDER_INVALID = "SENDER_INVALID"
    RCS_SENDER_MOBILE = "RCS_SENDER_MOBILE"
    INTL_NOT_SUPPORTED = "INTL_NOT_SUPPORTED"
    PUSH_TOO_LARGE = "PUSH_TOO_LARGE"
    ATTACHMENTS_TOO_LARGE = "ATTACHMENTS_TOO_LARGE"
    ATTACHMENT_BLOCKED = "ATTACHMENT_BLOCKED"
    ATTACHMENT_UNREADABLE = "ATTACHMENT_UNREADABLE"
    DM_ENVELOPE_MISSING = "DM_ENVELOPE_MISSING"
    DM_POSTCODE = "DM_POSTCODE"
    DM_ADDRESS = "DM_ADDRESS"


def n(value: int) -> str:
    """Numbers as operators read them in messages: 2,001."""
    return f"{value:,}"


class Violation(BaseModel):
    """``message`` names the field and the reason, e.g. "text: 2,001 bytes in EUC-KR,
    an LMS carries 2,000 at most"; it never echoes customer data beyond one character."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str


class CheckResult(BaseModel):
    ok: bool
    channel: str
    message_type: str
    bytes: int
    chars: int
    violations: list[Violation] = Field(default_factory=list)
    # Deliverable but doubtful (an emoji newer than old handsets' fonts): shown by the
    # CLI, never a reason to refuse the message.
    warnings: list[Violation] = Field(default_factory=list)

    def contract(self) -> dict[str, Any]:
        """The ``ums message check --json`` object, exactly the issue's contract."""
        return {
            "ok": self.ok,
            "channel": self.channel,
            "message_type": self.message_type,
            "bytes": self.bytes,
            "chars": self.chars,
            "violations": [{"code": v.code, "message": v.message} for v in self.violations],
        }
