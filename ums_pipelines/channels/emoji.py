"""Which emoji and emoticons each channel delivers, and what will break before approval.

SMS/LMS/MMS go out in EUC-KR (CP949): Korean text emoticons (ㅋㅋ, ^^, ♥, ☆, ★, ♪, ☎)
are in it, most pictographic emoji are not, and a message holding one fails at the relay.
KakaoTalk, RCS, push and e-mail carry Unicode, but an emoji newer than the handset's
font shows as an empty box, so those are listed as risky beyond a configurable version.
The DM print file is EUC-KR like the SMS relays, and printers have no emoji fonts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import emoji as emoji_data

__all__ = [
    "CP949_CHANNELS",
    "DEFAULT_EMOJI_MAX_VERSION",
    "KOREAN_EMOTICONS",
    "UNICODE_CHANNELS",
    "BreakingChar",
    "breaking_characters",
    "deliverable",
]

CP949_CHANNELS = frozenset({"sms", "lms", "mms", "dm"})
UNICODE_CHANNELS = frozenset({"alimtalk", "friendtalk", "brand", "rcs", "push", "email"})

# Text emoticons Korean customers use; every one is in CP949 and safe on every channel.
KOREAN_EMOTICONS = (
    "ㅋㅋ", "ㅎㅎ", "ㅠㅠ", "ㅜㅜ", "^^", "^_^", "^^;", "♥", "♡", "☆", "★", "♪", "♬",
    "☎", "☏", "※", "▶", "◀", "●", "○", "■", "□", "◆", "◇", "→", "←", "♣", "♠", "㈜",
)  # fmt: skip

DEFAULT_EMOJI_MAX_VERSION = 12.0
_KEEP_CONTROLS = frozenset("\n\r\t")

Severity = Literal["breaks", "risky"]
# encoding: outside the channel's character set; unusable: control, private-use or
# surrogate; emoji: newer than old handsets' fonts; unassigned: no character at all yet.
Kind = Literal["encoding", "unusable", "emoji", "unassigned"]


@dataclass(frozen=True)
class BreakingChar:
    """One character (or emoji sequence) that fails or may not render on a channel."""

    position: int  # index into the text, in characters
    text: str
    codepoints: str  # "U+1F600" or "U+1F469 U+200D U+1F4BB" for a sequence
    name: str
    reason: str
    severity: Severity
    kind: Kind


def _codepoints(text: str) -> str:
    return " ".join(f"U+{ord(c):04X}" for c in text)


def _name(text: str) -> str:
    data = emoji_data.EMOJI_DATA.get(text)
    if data is not None:
        return str(data["en"]).strip(":").replace("_", " ")
    return " + ".join(
        unicodedata.name(c, "").lower() or f"<{unicodedata.category(c)}>" for c in text
    )


def _in_cp949(text: str) -> bool:
    try:
        text.encode("cp949")
    except UnicodeEncodeError:
        return False
    return True


def _unusable(char: str) -> str | None:
    """What makes a character unusable on any channel, or None."""
    category = unicodedata.category(char)
    if category == "Cc" and char not in _KEEP_CONTROLS:
        return "control character: relays and handsets drop or reject it"
    if category == "Cs":
        return "unpaired surrogate: not a character, the text cannot be encoded"
    if category == "Co":
        return "private-use character: each handset shows something else"
    return None


def _check(channel: str, position: int, part: str, max_version: float) -> BreakingChar | None:
    def found(reason: str, kind: Kind) -> BreakingChar:
        severity: Severity = "breaks" if kind in ("encoding", "unusable") else "risky"
        return BreakingChar(position, part, _codepoints(part), _name(part), reason, severity, kind)

    for char in part:
        reason = _unusable(char)
        if reason is not None:
            return found(reason, "unusable")
    if channel in CP949_CHANNELS:
        if not _in_cp949(part):
            carrier = "the print file" if channel == "dm" else "SMS/LMS/MMS"
            return found(f"outside EUC-KR (CP949): {carrier} cannot carry it", "encoding")
        return None
    data = emoji_data.EMOJI_DATA.get(part)
    if data is not None and float(data["E"]) > max_version:
        return found(
            f"emoji {data['E']}, newer than emoji {max_version:g}: an empty box on older handsets",
            "emoji",
        )
    if len(part) == 1 and unicodedata.category(part) == "Cn":
        return found("unassigned code point: no handset can show it", "unassigned")
    return None


# Printable ASCII, line breaks and tabs, Hangul syllables and compatibility jamo: all in
# CP949 and no emoji (tests/ums_pipelines/channels/test_emoji.py checks every one).
_PLAIN = re.compile("[\x20-\x7e\n\r\t\uac00-\ud7a3\u3131-\u318e]*")


def breaking_characters(
    channel: str, text: str, *, max_version: float = DEFAULT_EMOJI_MAX_VERSION
) -> list[BreakingChar]:
    """Every character or emoji sequence of ``text`` that will fail (``breaks``) or may
    not render (``risky``) on ``channel``, in text order. A multi-code-point emoji (a ZWJ
    family, a flag, a skin tone) is one entry, at the position of its first code point."""
    if channel not in CP949_CHANNELS and channel not in UNICODE_CHANNELS:
        raise ValueError(f"channel: unknown channel {channel!r}")
    if _PLAIN.fullmatch(text):
        # Most texts are ASCII and Hangul only, which every channel carries: the
        # per-character scan below was a tenth of a push job's CPU.
        return []
    sequences = {e["match_start"]: e["match_end"] for e in emoji_data.emoji_list(text)}
    found: list[BreakingChar] = []
    i = 0
    while i < len(text):
        end = sequences.get(i, i + 1)
        item = _check(channel, i, text[i:end], max_version)
        if item is not None:
            found.append(item)
        i = end
    return found


def deliverable(channel: str, text: str, *, max_version: float = DEFAULT_EMOJI_MAX_VERSION) -> bool:
    """True when nothing in ``text`` breaks on ``channel`` (risky emoji still deliver)."""
    items = breaking_characters(channel, text, max_version=max_version)
    return all(item.severity == "risky" for item in items)
