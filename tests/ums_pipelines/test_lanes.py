"""Priority lanes and purposes."""

from __future__ import annotations

import pytest

from ums_pipelines.lanes import CHANNELS, TERMINAL_STATES, Lane, Purpose


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
    assert set(CHANNELS) == {"sms", "alimtalk", "push", "email"}
    assert len(CHANNELS) == len(set(CHANNELS))
