"""The dry run's prediction: the slowest provider's share of the first legs over its rate
in force, channels of one provider sharing it, plus the fixed start."""

from __future__ import annotations

import pytest

from ums_pipelines.urgent.predict import predict


@pytest.mark.parametrize(
    ("reach", "rates", "seconds", "bottleneck"),
    [
        ({"sms": 100_000}, {"sim-sms": 1000.0}, 101.0, "sim-sms"),
        # Split across providers: each runs at its own rate, the slowest decides.
        ({"sms": 60_000, "push": 40_000}, {"sim-sms": 1000.0, "sim-fcm": 2000.0}, 61.0, "sim-sms"),
        ({"sms": 10_000, "push": 90_000}, {"sim-sms": 1000.0, "sim-fcm": 2000.0}, 46.0, "sim-fcm"),
        # AlimTalk and FriendTalk share Kakao's one limit.
        ({"alimtalk": 30_000, "friendtalk": 20_000}, {"sim-kakao": 500.0}, 101.0, "sim-kakao"),
        # No limit configured: the send plane's own capacity.
        ({"email": 5_000}, {}, 3.5, "sim-smtp"),
        ({"sms": 0}, {"sim-sms": 1000.0}, 1.0, None),
    ],
)
def test_time_is_the_slowest_provider_share(
    reach: dict[str, int], rates: dict[str, float], seconds: float, bottleneck: str | None
) -> None:
    prediction = predict(reach, rates, unlimited_rate=2000.0, start_s=1.0)
    assert prediction.seconds == pytest.approx(seconds)
    assert prediction.bottleneck == bottleneck


def test_shares_say_which_limit_was_assumed() -> None:
    prediction = predict(
        {"sms": 500, "email": 200}, {"sim-sms": 250.0}, unlimited_rate=100.0, start_s=0.0
    )
    shares = {s["provider"]: s for s in prediction.as_json()["providers"]}
    assert shares["sim-sms"]["limited"] is True and shares["sim-sms"]["seconds"] == 2.0
    assert shares["sim-smtp"]["limited"] is False and shares["sim-smtp"]["rate_per_s"] == 100.0


@pytest.mark.parametrize(
    ("reach", "rates", "unlimited", "start", "message"),
    [
        ({"sms": -1}, {}, 1.0, 0.0, r"reach\[sms\]"),
        ({"fax": 1}, {}, 1.0, 0.0, r"reach\[fax\]: not a channel"),
        ({"sms": 1}, {"sim-sms": 0.0}, 1.0, 0.0, r"rates\[sim-sms\]"),
        ({"sms": 1}, {}, 0.0, 0.0, "unlimited_rate"),
        ({"sms": 1}, {}, 1.0, -1.0, "start_s"),
    ],
)
def test_bad_figures_are_named(
    reach: dict[str, int], rates: dict[str, float], unlimited: float, start: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        predict(reach, rates, unlimited_rate=unlimited, start_s=start)
