"""KakaoTalk: AlimTalk against its approved template, FriendTalk and brand message types."""

from __future__ import annotations

import re
from functools import lru_cache

from ums_pipelines.channels.checks.common import (
    Found,
    check_ad,
    check_buttons,
    check_characters,
    check_images,
)
from ums_pipelines.channels.checks.result import Code, n
from ums_pipelines.channels.limits import ChannelLimits, KakaoTypedLimits
from ums_pipelines.channels.payload import Payload

__all__ = [
    "TemplateMismatch",
    "check_alimtalk",
    "check_kakao_typed",
    "match_template",
    "template_variables",
]

# Kakao's placeholder: #{name}; the name is anything but a closing brace.
_PLACEHOLDER = re.compile(r"#\{([^{}]+)\}")
# Kakao normalises line endings; a CRLF in the rendered text must still match.
_CRLF = re.compile(r"\r\n?")


class TemplateMismatch(ValueError):
    """The rendered text is not the approved template; ``position`` is in the template."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def template_variables(template: str) -> list[str]:
    """The distinct variable names of an approved template, in order of appearance."""
    return list(dict.fromkeys(m.group(1).strip() for m in _PLACEHOLDER.finditer(template)))


@lru_cache(maxsize=256)
def _compiled(
    template: str,
) -> tuple[re.Pattern[str], list[tuple[int, str, re.Pattern[str]]]]:
    """The whole template as one pattern, and a pattern per prefix ending after each
    literal part (to say where a mismatch begins)."""
    template = _CRLF.sub("\n", template)
    groups: dict[str, str] = {}
    parts: list[str] = []
    prefixes: list[tuple[int, str, re.Pattern[str]]] = []
    last = 0
    for m in _PLACEHOLDER.finditer(template):
        literal = template[last : m.start()]
        if literal:
            parts.append(re.escape(literal))
            prefixes.append((last, literal, re.compile("".join(parts), re.DOTALL)))
        name = m.group(1).strip()
        if name in groups:  # the same variable twice holds the same value twice
            parts.append(f"(?P={groups[name]})")
        else:
            groups[name] = f"v{len(groups)}"
            parts.append(f"(?P<{groups[name]}>.*?)")
        last = m.end()
    if template[last:]:
        parts.append(re.escape(template[last:]))
        prefixes.append((last, template[last:], re.compile("".join(parts), re.DOTALL)))
    return re.compile("".join(parts), re.DOTALL), prefixes


def match_template(template: str, text: str) -> dict[str, str]:
    """The variable values that turn the approved ``template`` (``#{var}`` placeholders)
    into ``text``; raises :class:`TemplateMismatch` naming where the text departs from
    the template's fixed wording."""
    whole, prefixes = _compiled(template)
    text = _CRLF.sub("\n", text)
    found = whole.fullmatch(text)
    if found is not None:
        names = template_variables(template)
        return {name: found.group(f"v{i}") for i, name in enumerate(names)}
    for position, literal, prefix in prefixes:
        if prefix.match(text) is None:
            shown = literal if len(literal) <= 20 else literal[:19] + "…"
            raise TemplateMismatch(
                f"text: does not match the approved template's fixed wording {shown!r}"
                f" at template character {position}",
                position,
            )
    raise TemplateMismatch("text: longer than the approved template allows", len(template))


def check_alimtalk(
    found: Found,
    text: str,
    *,
    purpose: str | None,
    payload: Payload,
    approved_template: str | None,
    limits: ChannelLimits,
) -> str:
    alim = limits.alimtalk
    check_characters(found, "alimtalk", "text", text, limits.emoji_max_version)
    if len(text) > alim.max_chars:
        found.add(
            Code.BODY_TOO_LONG,
            f"text: {n(len(text))} characters with its variables filled in, an AlimTalk"
            f" carries {n(alim.max_chars)} at most",
        )
    if purpose is not None and purpose not in alim.purposes:
        found.add(
            Code.PURPOSE_NOT_ALLOWED,
            "purpose: AlimTalk carries informational messages only, never advertising",
        )
    # Without the approved template the text is checked as the template itself
    # (before approval): its placeholders are its variables.
    source = approved_template if approved_template is not None else text
    names = template_variables(source)
    count = max(len(names), len(payload.variables))
    if count > alim.max_variables:
        found.add(
            Code.TOO_MANY_VARIABLES,
            f"variables: {count} variables, an AlimTalk template has {alim.max_variables} at most",
        )
    if approved_template is not None:
        try:
            values = match_template(approved_template, text)
        except TemplateMismatch as exc:
            found.add(Code.TEMPLATE_MISMATCH, str(exc))
        else:
            for name, value in payload.variables.items():
                if name in values and values[name] != value:
                    found.add(
                        Code.TEMPLATE_MISMATCH,
                        f"variables.{name}: the text holds another value than the"
                        " variable sent with it",
                    )
    check_buttons(
        found,
        payload.buttons,
        limits.buttons,
        max_buttons=alim.max_buttons,
        allowed_types=limits.buttons.kakao_types,
        what="an AlimTalk",
    )
    return "ALIMTALK"


def check_kakao_typed(
    found: Found,
    channel: str,
    text: str,
    *,
    purpose: str | None,
    payload: Payload,
    limits: ChannelLimits,
) -> str:
    """FriendTalk or brand message: one of its types (TEXT, IMAGE, WIDE, ...)."""
    typed: KakaoTypedLimits = limits.friendtalk if channel == "friendtalk" else limits.brand
    label = "a FriendTalk" if channel == "friendtalk" else "a brand message"
    prefix = "FRIENDTALK" if channel == "friendtalk" else "BRAND"
    # Undeclared: IMAGE when it has an image, TEXT otherwise (as compose decides it).
    kind = (payload.kakao_type or ("IMAGE" if payload.images else "TEXT")).upper()
    check_characters(found, channel, "text", text, limits.emoji_max_version)
    if purpose is not None and purpose not in typed.purposes:
        found.add(
            Code.PURPOSE_NOT_ALLOWED,
            f"purpose: {label} is advertising only; informational messages go by AlimTalk",
        )
    rules = typed.types.get(kind)
    if rules is None:
        found.add(
            Code.KAKAO_TYPE,
            f"kakao_type: {kind!r} is not one of {', '.join(typed.types)} for {label}",
        )
        return f"{prefix}_{kind}"
    what = f"{label} {kind}"
    if len(text) > rules.max_chars:
        found.add(
            Code.BODY_TOO_LONG,
            f"text: {n(len(text))} characters, {what} carries {n(rules.max_chars)} at most",
        )
    if len(payload.images) < rules.images:
        found.add(Code.IMAGE_MISSING, f"images: {what} needs {rules.images} image")
    check_images(
        found,
        payload.images,
        what=what,
        max_count=rules.images,
        types=typed.image_types,
        max_bytes=typed.image_max_bytes,
    )
    check_buttons(
        found,
        payload.buttons,
        limits.buttons,
        max_buttons=rules.max_buttons,
        allowed_types=limits.buttons.kakao_types,
        what=what,
    )
    if typed.needs_080:
        check_ad(found, "text", text, limits.ad, label=False, channel_name=label)
    # FriendTalk's "(광고)" label and block button are added by Kakao itself.
    return f"{prefix}_{kind}" if channel == "friendtalk" else "BRAND"
