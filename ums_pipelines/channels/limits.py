"""Every channel limit of shared/DOMAIN.md, with the legal or provider default.

Relays differ (one takes MMS images up to 1000x1000 px, another 1500x1440; international
SMS sizes vary), so each limit is a field that a provider's configuration overrides:
``ChannelLimits().merged({"sms": {"mms_max_width": 1500, "mms_max_height": 1440}})``.
Sizes in KB/MB are binary (1 KB = 1,024 bytes), as the relays' documentation states them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "KB",
    "MB",
    "AdRules",
    "AlimTalkLimits",
    "ButtonLimits",
    "ChannelLimits",
    "DmLimits",
    "EmailLimits",
    "IntlSmsLimits",
    "KakaoTypeLimits",
    "KakaoTypedLimits",
    "PushLimits",
    "RcsLimits",
    "SenderLimits",
    "SmsLimits",
]

KB = 1024
MB = 1024 * KB


class _Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmsLimits(_Limits):
    """SMS/LMS/MMS at a domestic relay; every size counted in EUC-KR (CP949) bytes."""

    sms_max_bytes: int = Field(90, gt=0)
    lms_max_bytes: int = Field(2000, gt=0)  # LMS and MMS body
    subject_max_bytes: int = Field(40, gt=0)
    mms_max_images: int = Field(3, ge=0)
    mms_image_max_bytes: int = Field(300 * KB, gt=0)
    mms_image_types: tuple[str, ...] = ("image/jpeg",)
    mms_max_width: int = Field(1000, gt=0)
    mms_max_height: int = Field(1000, gt=0)


class IntlSmsLimits(_Limits):
    """International SMS (recipient outside Korea): the relay's own size and encoding.
    ``cp949`` relays carry only what a domestic SMS carries; ``utf-8``/``ucs-2`` relays
    carry other scripts (UCS-2 has no room for characters outside the BMP, e.g. emoji)."""

    max_bytes: int = Field(1000, gt=0)
    subject_max_bytes: int = Field(40, gt=0)
    encoding: Literal["cp949", "utf-8", "ucs-2"] = "utf-8"


class ButtonLimits(_Limits):
    """Kakao buttons (AlimTalk, FriendTalk, brand message) and RCS buttons."""

    name_max_chars: int = Field(14, gt=0)
    https_only: bool = True
    # Button type -> fields it cannot go without. Kakao: WL web link, AL app link,
    # DS delivery search, BK bot keyword, MD message delivery, BC bot to consultant,
    # BT bot transfer, AC add channel. RCS: openUrl, dial, copy.
    required_fields: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {
            "WL": ("url_mobile",),
            "AL": ("scheme_android", "scheme_ios"),
            "DS": (),
            "BK": (),
            "MD": (),
            "BC": (),
            "BT": (),
            "AC": (),
            "openUrl": ("url_mobile",),
            "dial": ("phone",),
            "copy": (),
        }
    )
    kakao_types: tuple[str, ...] = ("WL", "AL", "DS", "BK", "MD", "BC", "BT", "AC")
    rcs_types: tuple[str, ...] = ("openUrl", "dial", "copy")


class AlimTalkLimits(_Limits):
    max_chars: int = Field(1000, gt=0)  # the text as sent, variables filled in
    max_variables: int = Field(30, ge=0)
    max_buttons: int = Field(5, ge=0)
    purposes: tuple[str, ...] = ("info", "auth")  # informational only, never advertising


class KakaoTypeLimits(_Limits):
    """One FriendTalk/brand message type: text length, buttons and images it carries."""

    max_chars: int = Field(gt=0)
    max_buttons: int = Field(ge=0)
    images: int = Field(ge=0)  # exactly this many: TEXT none, IMAGE and WIDE one


def _friendtalk_types() -> dict[str, KakaoTypeLimits]:
    return {
        "TEXT": KakaoTypeLimits(max_chars=1000, max_buttons=5, images=0),
        "IMAGE": KakaoTypeLimits(max_chars=400, max_buttons=5, images=1),
        "WIDE": KakaoTypeLimits(max_chars=76, max_buttons=1, images=1),
    }


class KakaoTypedLimits(_Limits):
    """FriendTalk and brand message: advertising only, per message type limits."""

    types: dict[str, KakaoTypeLimits] = Field(default_factory=_friendtalk_types)
    purposes: tuple[str, ...] = ("ad",)
    image_types: tuple[str, ...] = ("image/jpeg", "image/png")
    image_max_bytes: int = Field(500 * KB, gt=0)  # (check) Kakao's image upload limit
    needs_080: bool = False  # brand message: a free 080 opt-out number in the text
    # No sends 20:00-08:00 (check; some sources say 20:50); the send planner holds them.
    quiet_from: time = time(20, 0)
    quiet_until: time = time(8, 0)


class RcsLimits(_Limits):
    sms_max_chars: int = Field(100, gt=0)
    lms_max_chars: int = Field(1300, gt=0)
    mms_max_chars: int = Field(1300, gt=0)  # (check) same description length as LMS
    max_images: int = Field(1, ge=0)  # (check) a standalone MMS carries one medium
    image_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/gif", "image/bmp")
    image_max_bytes: int = Field(1 * MB, gt=0)
    max_buttons: int = Field(3, ge=0)  # (check)
    # Mobile numbers cannot be RCS senders (the brand's registered numbers only).
    banned_sender_prefixes: tuple[str, ...] = ("010",)


class PushLimits(_Limits):
    """Counted on the JSON that goes on the wire (see ``checks.push.push_wire_size``)."""

    fcm_max_bytes: int = Field(4096, gt=0)
    apns_max_bytes: int = Field(4096, gt=0)


def _blocked_extensions() -> tuple[str, ...]:
    return (
        "exe", "com", "scr", "pif", "cpl", "dll", "sys", "msi", "msp", "bat", "cmd",
        "ps1", "psm1", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "jar", "lnk",
        "reg", "sh", "bash", "csh", "ksh", "zsh", "py", "pl", "rb", "php", "apk",
        "app", "dmg", "elf", "bin", "run", "iso", "img", "gadget", "inf", "scf",
    )  # fmt: skip


class EmailLimits(_Limits):
    attachments_max_bytes: int = Field(30 * MB, gt=0)  # all attachments of one message
    blocked_extensions: tuple[str, ...] = Field(default_factory=_blocked_extensions)

    @field_validator("blocked_extensions")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(ext.lower().lstrip(".") for ext in value)


class DmLimits(_Limits):
    postcode_digits: int = Field(5, gt=0)  # the 2015 five-digit national postcode


class SenderLimits(_Limits):
    """Registered caller numbers: 8-11 digits, except special short numbers."""

    min_digits: int = Field(8, gt=0)
    max_digits: int = Field(11, gt=0)
    short_numbers: tuple[str, ...] = ()


class AdRules(_Limits):
    """Information and Communications Network Act art. 50 for advertising messages."""

    label: str = "(광고)"
    # 21:00-08:00 Korea time an advertisement needs the separate night consent;
    # without it the message is held until 08:00, never dropped.
    night_from: time = time(21, 0)
    night_until: time = time(8, 0)
    # A free opt-out by a 080 number, e.g. "무료수신거부 080-123-4567".
    optout_pattern: str = r"080-?\d{3,4}-?\d{4}"

    @field_validator("optout_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"optout_pattern: not a regular expression ({exc})") from None
        return value


def _brand_defaults() -> KakaoTypedLimits:
    return KakaoTypedLimits(needs_080=True)


class ChannelLimits(_Limits):
    sms: SmsLimits = Field(default_factory=SmsLimits)
    intl_sms: IntlSmsLimits = Field(default_factory=IntlSmsLimits)
    alimtalk: AlimTalkLimits = Field(default_factory=AlimTalkLimits)
    friendtalk: KakaoTypedLimits = Field(default_factory=KakaoTypedLimits)
    brand: KakaoTypedLimits = Field(default_factory=_brand_defaults)
    buttons: ButtonLimits = Field(default_factory=ButtonLimits)
    rcs: RcsLimits = Field(default_factory=RcsLimits)
    push: PushLimits = Field(default_factory=PushLimits)
    email: EmailLimits = Field(default_factory=EmailLimits)
    dm: DmLimits = Field(default_factory=DmLimits)
    sender: SenderLimits = Field(default_factory=SenderLimits)
    ad: AdRules = Field(default_factory=AdRules)
    # Emoji newer than this Unicode emoji version show as boxes on older handsets.
    emoji_max_version: float = Field(12.0, gt=0)

    def merged(self, overrides: Mapping[str, Any]) -> ChannelLimits:
        """These limits with a provider's overrides applied, section by section; an
        unknown section or field is refused (a typo must not silently keep a default)."""
        data = self.model_dump()
        _deep_update(data, overrides)
        return ChannelLimits.model_validate(data)


def _deep_update(target: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    for key, value in overrides.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            _deep_update(current, value)  # partial: only WIDE's max_chars, say
        else:
            target[key] = value
