"""Which emoji and emoticons each channel delivers; what breaks before approval."""

from __future__ import annotations

import pytest

from ums_pipelines.channels.checks import check_message
from ums_pipelines.channels.emoji import (
    CP949_CHANNELS,
    KOREAN_EMOTICONS,
    UNICODE_CHANNELS,
    breaking_characters,
    deliverable,
)
from ums_pipelines.channels.limits import ChannelLimits

ALL_CHANNELS = sorted(CP949_CHANNELS | UNICODE_CHANNELS)


@pytest.mark.parametrize("channel", ALL_CHANNELS)
@pytest.mark.parametrize("emoticon", KOREAN_EMOTICONS)
def test_korean_emoticons_deliver_everywhere(channel: str, emoticon: str) -> None:
    assert deliverable(channel, f"감사합니다 {emoticon}")
    assert breaking_characters(channel, emoticon) == []


@pytest.mark.parametrize("emoji", ["😀", "👍", "💰", "🎉", "❤️", "🇰🇷", "👨‍👩‍👧"])
def test_pictographic_emoji_break_sms_and_print_but_not_unicode_channels(emoji: str) -> None:
    for channel in CP949_CHANNELS:
        assert not deliverable(channel, emoji), channel
    for channel in UNICODE_CHANNELS:
        assert deliverable(channel, emoji), channel


def test_breaking_character_details() -> None:
    items = breaking_characters("sms", "잔액 👍🏽 ♥ ♥️")
    assert [(i.position, i.text, i.codepoints, i.severity) for i in items] == [
        (3, "👍🏽", "U+1F44D U+1F3FD", "breaks"),
        (8, "♥️", "U+2665 U+FE0F", "breaks"),  # the plain ♥ at 6 is CP949
    ]
    assert {i.kind for i in items} == {"encoding"}
    assert items[0].name == "thumbs up medium skin tone"
    assert "outside EUC-KR (CP949)" in items[0].reason


@pytest.mark.parametrize(
    ("text", "max_version", "risky"),
    [
        ("🫠", 12.0, True),  # emoji 14.0 (2021)
        ("🫠", 14.0, False),  # at the configured version
        ("🫠", 13.1, True),  # just under it
        ("🥱", 12.0, False),  # emoji 12.0
        ("🥱", 11.0, True),
        ("😀", 1.0, False),
    ],
)
def test_newer_emoji_are_risky_beyond_a_configurable_version(
    text: str, max_version: float, risky: bool
) -> None:
    items = breaking_characters("alimtalk", text, max_version=max_version)
    assert [(i.severity, i.kind) for i in items] == ([("risky", "emoji")] if risky else [])
    assert deliverable("alimtalk", text, max_version=max_version)  # risky still delivers
    if risky:
        assert "older handsets" in items[0].reason


def test_check_message_warns_about_risky_emoji_with_the_limits_version() -> None:
    result = check_message("push", "알림 🫠")
    assert result.ok
    assert [w.code for w in result.warnings] == ["EMOJI_RISKY"]
    newer = ChannelLimits().merged({"emoji_max_version": 15.0})
    assert check_message("push", "알림 🫠", limits=newer).warnings == []


@pytest.mark.parametrize(
    ("char", "reason"),
    [("\x00", "control"), ("\x07", "control"), ("\ue000", "private-use"), ("\ud800", "surrogate")],
)
@pytest.mark.parametrize("channel", ALL_CHANNELS)
def test_unusable_characters_break_every_channel(channel: str, char: str, reason: str) -> None:
    items = breaking_characters(channel, f"a{char}b")
    assert [(i.position, i.severity, i.kind) for i in items] == [(1, "breaks", "unusable")]
    assert reason in items[0].reason


@pytest.mark.parametrize("channel", ALL_CHANNELS)
def test_line_breaks_and_tabs_are_fine(channel: str) -> None:
    assert breaking_characters(channel, "줄1\n줄2\r\n\t끝") == []


def test_check_message_reports_unusable_characters() -> None:
    result = check_message("alimtalk", "입금\x07 안내")
    assert [v.code for v in result.violations] == ["UNUSABLE_CHAR"]
    assert result.violations[0].message.startswith("text: U+0007")


def test_unknown_channel() -> None:
    with pytest.raises(ValueError, match="channel"):
        breaking_characters("fax", "x")


def test_the_plain_text_fast_path_only_skips_what_every_channel_carries() -> None:
    """breaking_characters skips texts of these characters without a scan: each one must
    pass the full per-character check on every channel."""
    from ums_pipelines.channels import emoji as module

    plain = [chr(c) for c in [9, 10, 13, *range(0x20, 0x7F), *range(0x3131, 0x318F)]]
    plain += [chr(c) for c in range(0xAC00, 0xD7A4)]
    assert module._PLAIN.fullmatch("".join(plain))
    for channel in (*module.CP949_CHANNELS, *module.UNICODE_CHANNELS):
        assert [
            c for c in plain if module._check(channel, 0, c, module.DEFAULT_EMOJI_MAX_VERSION)
        ] == [], channel
    # Anything else goes through the scan.
    assert not module._PLAIN.fullmatch("안녕 😀")
    assert breaking_characters("sms", "안녕 😀")
