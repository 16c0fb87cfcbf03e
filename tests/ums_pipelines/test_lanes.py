"""Priority lanes and purposes."""

from __future__ import annotations

import pytest

from ums_pipelines.channels.payload import CHANNELS as PAYLOAD_CHANNELS
from ums_pipelines.dispatch.compose import PROVIDERS
from ums_pipelines.lanes import (
    CHANNEL_RANK,
    CHANNELS,
    EXPRESS_MAX_PRIORITY,
    TERMINAL_STATES,
    Lane,
    Purpose,
    lane_of,
    message_priority,
)


def test_lanes_are_served_in_the_documented_order() -> None:
    # urgent notice > authentication/OTP > transactional > informational > marketing
    order = [Lane.URGENT, Lane.AUTH, Lane.TRANSACTIONAL, Lane.INFORMATIONAL, Lane.MARKETING]
    assert sorted(Lane) == order
    assert [int(lane) for lane in order] == sorted(int(lane) for lane in order)
    assert len({int(lane) for lane in Lane}) == len(Lane)


@pytest.mark.parametrize(
    ("purpose", "consent"),
    [
        (Purpose.INFORMATIONAL, "info"),
        (Purpose.ADVERTISING, "ad"),
        # An OTP needs no marketing consent.
        (Purpose.AUTH, "info"),
    ],
)
def test_consent_key_per_purpose(purpose: Purpose, consent: str) -> None:
    assert purpose.consent_key == consent


def test_purpose_round_trips_from_stored_value() -> None:
    for purpose in Purpose:
        assert Purpose(purpose.value) is purpose
    with pytest.raises(ValueError):
        Purpose("marketing")


def test_terminal_states_are_the_end_of_the_outbox_state_machine() -> None:
    assert {"delivered", "failed", "expired", "cancelled"} == TERMINAL_STATES
    for live in ("queued", "claimed", "submitted", "accepted"):
        assert live not in TERMINAL_STATES


def test_channels() -> None:
    # Senders and receipt polling cover every channel a message can be composed for.
    assert set(CHANNELS) == set(PAYLOAD_CHANNELS) == set(PROVIDERS)
    assert len(CHANNELS) == len(set(CHANNELS))
    assert CHANNELS[:4] == ("sms", "alimtalk", "push", "email")
    assert set(CHANNEL_RANK) == set(CHANNELS)


def test_channel_rank_breaks_ties_within_a_lane_only() -> None:
    # The existing order stays: SMS, push, AlimTalk, RCS, ... e-mail, and a letter last.
    ranked = sorted(CHANNELS, key=CHANNEL_RANK.__getitem__)
    assert ranked[:3] == ["sms", "push", "alimtalk"] and ranked[-2:] == ["email", "dm"]
    assert all(0 <= rank < 10 for rank in CHANNEL_RANK.values())
    for lane in Lane:
        priorities = [message_priority(lane, c) for c in ranked]
        assert priorities == sorted(priorities)
        assert {lane_of(p) for p in priorities} == {lane}
    # Every transactional channel is served by express senders, no marketing one.
    assert all(message_priority(Lane.TRANSACTIONAL, c) <= EXPRESS_MAX_PRIORITY for c in CHANNELS)
    assert all(message_priority(Lane.INFORMATIONAL, c) > EXPRESS_MAX_PRIORITY for c in CHANNELS)
