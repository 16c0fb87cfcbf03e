"""Rules shared by several channels: characters, advertising, senders, buttons, images."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ums_pipelines.channels.checks.result import Code, Violation, n
from ums_pipelines.channels.emoji import breaking_characters
from ums_pipelines.channels.limits import AdRules, ButtonLimits, SenderLimits
from ums_pipelines.channels.payload import Button, Image

__all__ = [
    "PURPOSES",
    "Found",
    "check_ad",
    "check_buttons",
    "check_characters",
    "check_images",
    "check_sender",
    "normalize_purpose",
]

# Purposes as the CLI spells them, and as templates store them (lanes.Purpose).
PURPOSES = {
    "info": "info",
    "informational": "info",
    "ad": "ad",
    "advertising": "ad",
    "auth": "auth",
}
# More than this many bad characters in one field: the rest is a count, not a list.
_LIST_AT_MOST = 5
_SCHEME_FIELDS = ("scheme_android", "scheme_ios")


@dataclass
class Found:
    violations: list[Violation] = field(default_factory=list)
    warnings: list[Violation] = field(default_factory=list)

    def add(self, code: str, message: str) -> None:
        self.violations.append(Violation(code=code, message=message))

    def warn(self, code: str, message: str) -> None:
        self.warnings.append(Violation(code=code, message=message))


def normalize_purpose(purpose: str | None) -> str | None:
    if purpose is None:
        return None
    try:
        return PURPOSES[purpose.strip().lower()]
    except KeyError:
        raise ValueError(f"purpose: {purpose!r} is not one of info, ad, auth") from None


def check_characters(
    found: Found, channel: str, field_name: str, text: str, max_version: float
) -> None:
    """Characters the channel cannot carry (violations) or may not render (warnings),
    each with its position and code point."""
    items = breaking_characters(channel, text, max_version=max_version)
    breaks = [i for i in items if i.severity == "breaks"]
    for item in breaks[:_LIST_AT_MOST]:
        encoding = item.kind == "encoding"
        found.add(
            Code.NOT_CP949 if encoding else Code.UNUSABLE_CHAR,
            f"{field_name}: {item.codepoints} ({item.name}) at position {item.position}"
            f" is {item.reason if encoding else 'a ' + item.reason}",
        )
    if len(breaks) > _LIST_AT_MOST:
        rest = breaks[_LIST_AT_MOST:]
        encoding = any(i.kind == "encoding" for i in rest)
        found.add(
            Code.NOT_CP949 if encoding else Code.UNUSABLE_CHAR,
            f"{field_name}: {n(len(rest))} more characters the channel cannot carry",
        )
    for item in (i for i in items if i.severity == "risky"):
        found.warn(
            "EMOJI_RISKY",
            f"{field_name}: {item.codepoints} ({item.name}) at position {item.position}:"
            f" {item.reason}",
        )


def check_ad(
    found: Found,
    field_name: str,
    text: str,
    rules: AdRules,
    *,
    label: bool = True,
    optout: bool = True,
    channel_name: str = "",
) -> None:
    """Art. 50: an advertisement starts with "(광고)" and carries a free 080 opt-out."""
    if label and not text.lstrip().startswith(rules.label):
        found.add(
            Code.AD_LABEL_MISSING,
            f"{field_name}: an advertisement must start with {rules.label} exactly",
        )
    if optout and re.search(rules.optout_pattern, text) is None:
        found.add(
            Code.AD_OPTOUT_MISSING,
            f"{field_name}: {channel_name or 'advertising'} needs a free 080 opt-out"
            " number (e.g. 무료수신거부 080-123-4567)",
        )


def check_sender(found: Found, sender: str, limits: SenderLimits) -> str:
    """Registered caller numbers have 8-11 digits (special short numbers aside);
    returns the digits for channel-specific rules."""
    digits = re.sub(r"[\s()-]", "", sender)
    if digits in limits.short_numbers:
        return digits
    if not digits.isdigit():
        found.add(Code.SENDER_INVALID, "sender: only digits and separators are allowed")
    elif not limits.min_digits <= len(digits) <= limits.max_digits:
        found.add(
            Code.SENDER_INVALID,
            f"sender: {len(digits)} digits, a caller number has"
            f" {limits.min_digits}-{limits.max_digits}",
        )
    return digits


def _url_problem(url: str, https_only: bool) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "is not an absolute web address"
    if https_only and parts.scheme != "https":
        return "must use https"
    return None


def check_buttons(
    found: Found,
    buttons: Sequence[Button],
    limits: ButtonLimits,
    *,
    max_buttons: int,
    allowed_types: Sequence[str],
    what: str,
) -> None:
    if len(buttons) > max_buttons:
        found.add(
            Code.TOO_MANY_BUTTONS,
            f"buttons: {len(buttons)} buttons, {what} carries {max_buttons} at most",
        )
    for i, button in enumerate(buttons):
        where = f"buttons[{i}]"
        if button.type not in allowed_types:
            found.add(
                Code.BUTTON_TYPE,
                f"{where}.type: {button.type!r} is not one of {', '.join(allowed_types)}",
            )
            continue
        if not button.name.strip():
            found.add(Code.BUTTON_NAME, f"{where}.name: empty")
        elif len(button.name) > limits.name_max_chars:
            found.add(
                Code.BUTTON_NAME,
                f"{where}.name: {len(button.name)} characters, a button name has"
                f" {limits.name_max_chars} at most",
            )
        for name in limits.required_fields.get(button.type, ()):
            if not getattr(button, name):
                found.add(
                    Code.BUTTON_FIELD_MISSING,
                    f"{where}.{name}: required for a {button.type} button",
                )
        for name in ("url_mobile", "url_pc"):
            url = getattr(button, name)
            problem = _url_problem(url, limits.https_only) if url else None
            if problem:
                found.add(Code.BUTTON_URL, f"{where}.{name}: {problem}")
        for name in _SCHEME_FIELDS:
            scheme = getattr(button, name)
            if scheme and "://" not in scheme:
                found.add(Code.BUTTON_URL, f"{where}.{name}: not an app link (scheme://...)")


def check_images(
    found: Found,
    images: Sequence[Image],
    *,
    what: str,
    max_count: int,
    types: Sequence[str],
    max_bytes: int,
    max_width: int | None = None,
    max_height: int | None = None,
) -> None:
    if len(images) > max_count:
        found.add(
            Code.TOO_MANY_IMAGES,
            f"images: {len(images)} images, {what} carries {max_count} at most",
        )
    for i, image in enumerate(images):
        where = f"images[{i}]"
        if image.content_type not in types:
            found.add(
                Code.IMAGE_TYPE,
                f"{where}: {image.content_type} is not allowed in {what} ({', '.join(types)})",
            )
        if image.size_bytes > max_bytes:
            found.add(
                Code.IMAGE_TOO_LARGE,
                f"{where}: {n(image.size_bytes)} bytes, {what} takes {n(max_bytes)} at most",
            )
        if (
            max_width is not None
            and max_height is not None
            and (image.width > max_width or image.height > max_height)
        ):
            found.add(
                Code.IMAGE_PIXELS,
                f"{where}: {image.width}x{image.height} px, {what} takes"
                f" {max_width}x{max_height} at most",
            )
