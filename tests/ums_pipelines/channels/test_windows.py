"""FriendTalk quiet hours (20:00-08:00) and the advertising night (21:00-08:00), in KST."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from ums_pipelines.channels.limits import ChannelLimits
from ums_pipelines.channels.windows import KST, held_until


def kst(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=KST)


@pytest.mark.parametrize("channel", ["friendtalk", "brand"])
@pytest.mark.parametrize(
    ("at", "until"),
    [
        (kst(25, 19, 59, 59), None),  # just before 20:00
        (kst(25, 20, 0), kst(26, 8)),  # at 20:00: held until the morning
        (kst(25, 20, 0, 1), kst(26, 8)),
        (kst(26, 7, 59, 59), kst(26, 8)),  # just before 08:00
        (kst(26, 8, 0), None),  # at 08:00
        (kst(26, 8, 0, 1), None),
    ],
)
def test_friendtalk_quiet_hours(channel: str, at: datetime, until: datetime | None) -> None:
    assert held_until(channel, "ad", at, night_consent=True) == until


def test_quiet_hours_are_a_setting() -> None:
    # Some sources say 20:50; a provider's limits can say so.
    limits = ChannelLimits().merged({"friendtalk": {"quiet_from": "20:50"}})
    assert limits.friendtalk.quiet_from == time(20, 50)
    at = kst(25, 20, 49, 59)
    assert held_until("friendtalk", "ad", at, night_consent=True, limits=limits) is None
    assert held_until("friendtalk", "ad", at, night_consent=True) == kst(26, 8)
    at = kst(25, 20, 50)
    assert held_until("friendtalk", "ad", at, night_consent=True, limits=limits) == kst(26, 8)


@pytest.mark.parametrize("channel", ["sms", "rcs", "push", "email", "friendtalk"])
@pytest.mark.parametrize(
    ("at", "until"),
    [
        (kst(25, 20, 59, 59), None),
        (kst(25, 21, 0), kst(26, 8)),
        (kst(26, 0, 30), kst(26, 8)),
        (kst(26, 7, 59, 59), kst(26, 8)),
        (kst(26, 8, 0), None),
    ],
)
def test_advertising_at_night_needs_night_consent(
    channel: str, at: datetime, until: datetime | None
) -> None:
    if channel == "friendtalk" and at.hour >= 20:
        until = kst(26, 8)  # its own quiet hours start earlier
    assert held_until(channel, "ad", at) == until
    if channel != "friendtalk":
        assert held_until(channel, "ad", at, night_consent=True) is None
        assert held_until(channel, "info", at) is None  # informational goes at night


def test_utc_moments_are_judged_in_korea_time() -> None:
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 21:00 KST
    assert held_until("sms", "ad", at) == kst(26, 8)
    assert held_until("sms", "ad", datetime(2026, 11, 25, 11, 59, tzinfo=UTC)) is None


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="at:"):
        held_until("sms", "ad", datetime(2026, 11, 25, 21))
