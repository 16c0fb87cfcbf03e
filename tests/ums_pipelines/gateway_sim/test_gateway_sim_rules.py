"""The relay rules as pure functions: byte counting, encoding, recipients, senders."""

from __future__ import annotations

import pytest

from ums_pipelines.gateway_sim import SimConfig, rules

ANY_SENDER = SimConfig()
REGISTERED = SimConfig(registered_senders=["15880000"])


def sms(
    text: str = "hello",
    *,
    kind: str = "SMS",
    subject: str | None = None,
    to: str = "01012345678",
    sender: str = "15880000",
    config: SimConfig = ANY_SENDER,
) -> str | None:
    rejection = rules.check_sms(config, kind, sender, to, subject, text)
    return None if rejection is None else rejection.code


@pytest.mark.parametrize(
    ("kind", "text", "subject", "expected"),
    [
        ("SMS", "a" * 90, None, None),
        ("SMS", "a" * 91, None, "E-SIZE"),
        ("SMS", "가" * 45, None, None),
        ("SMS", "가" * 45 + "a", None, "E-SIZE"),
        ("SMS", "가" * 44 + "ab", None, None),
        ("SMS", "짧은 문자", "제목", "E-SIZE"),
        ("SMS", "", None, "E-SIZE"),
        ("LMS", "a" * 2000, None, None),
        ("LMS", "a" * 2001, None, "E-SIZE"),
        ("LMS", "가" * 1000, None, None),
        ("LMS", "가" * 1000 + "a", None, "E-SIZE"),
        ("LMS", "본문", "가" * 20, None),
        ("LMS", "본문", "가" * 20 + "a", "E-SIZE"),
        ("LMS", "본문", "a" * 40, None),
        ("LMS", "본문", "a" * 41, "E-SIZE"),
    ],
)
def test_size_limits_count_cp949_bytes(
    kind: str, text: str, subject: str | None, expected: str | None
) -> None:
    assert sms(text, kind=kind, subject=subject) == expected


def test_hangul_counts_two_bytes_and_ascii_one() -> None:
    assert rules.cp949_length("가a") == 3


@pytest.mark.parametrize(
    ("text", "subject", "position"),
    [
        ("잔액 안내 😀", None, "position 6"),
        ("😀", None, "position 0"),
        ("ok", "제목🎉", "position 2"),
    ],
)
def test_characters_outside_cp949_are_rejected_with_their_position(
    text: str, subject: str | None, position: str
) -> None:
    rejection = rules.check_sms(ANY_SENDER, "LMS", "15880000", "01012345678", subject, text)
    assert rejection is not None
    assert rejection.code == "E-ENCODING"
    assert position in rejection.reason
    assert ("subject" if subject else "text") in rejection.reason


@pytest.mark.parametrize(
    "to",
    [
        "01012345678",
        "0111234567",
        "01612345678",
        "0171234567",
        "01812345678",
        "01912345678",
    ],
)
def test_korean_mobile_numbers_are_accepted(to: str) -> None:
    assert sms(to=to) is None


@pytest.mark.parametrize(
    "to",
    [
        "010-1234-5678",
        "+821012345678",
        "0212345678",
        "01512345678",
        "010123456",
        "010123456789",
        "",
    ],
)
def test_other_recipients_are_rejected(to: str) -> None:
    assert sms(to=to) == "E-RECIPIENT"


@pytest.mark.parametrize(
    ("config", "sender", "expected"),
    [
        (ANY_SENDER, "15880000", None),
        (ANY_SENDER, "01012345678", None),
        (ANY_SENDER, "1234567", "E-SENDER"),
        (ANY_SENDER, "010123456789", "E-SENDER"),
        (ANY_SENDER, "1588-0000", "E-SENDER"),
        (REGISTERED, "15880000", None),
        (REGISTERED, "15889999", "E-SENDER"),
    ],
)
def test_sender_numbers(config: SimConfig, sender: str, expected: str | None) -> None:
    assert sms(sender=sender, config=config) == expected


def test_unregistered_sender_reason() -> None:
    rejection = rules.check_sms(REGISTERED, "SMS", "15889999", "01012345678", None, "hi")
    assert rejection == rules.Rejection("E-SENDER", "unregistered sender number")


@pytest.mark.parametrize(
    ("to", "text", "buttons", "expected"),
    [
        ("01012345678", "가" * 1000, 0, None),
        ("01012345678", "가" * 1001, 0, "E-SIZE"),
        ("01012345678", "이모지 가능 😀", 5, None),
        ("01012345678", "버튼", 6, "E-SIZE"),
        ("0212345678", "본문", 0, "E-RECIPIENT"),
    ],
)
def test_alimtalk_checks(to: str, text: str, buttons: int, expected: str | None) -> None:
    rejection = rules.check_alimtalk(to, text, buttons)
    assert (None if rejection is None else rejection.code) == expected


def test_kakao_membership_depends_only_on_seed_and_number() -> None:
    config = SimConfig(seed=11, kakao_non_user_rate=0.5)
    numbers = [f"010{n:08d}" for n in range(200)]
    first = [rules.is_kakao_user(config, n) for n in numbers]
    assert first == [
        rules.is_kakao_user(SimConfig(seed=11, kakao_non_user_rate=0.5), n) for n in numbers
    ]
    assert 0 < sum(first) < len(numbers)
    for number, member in zip(numbers, first, strict=True):
        outcome = rules.alimtalk_outcome(config, f"any-key-{number}", number)
        if not member:
            assert (outcome.code, outcome.reason) == ("3018", "not a KakaoTalk user")


@pytest.mark.parametrize(("rate", "users"), [(0.0, 200), (1.0, 0)])
def test_kakao_non_user_rate_extremes(rate: float, users: int) -> None:
    config = SimConfig(kakao_non_user_rate=rate)
    assert sum(rules.is_kakao_user(config, f"010{n:08d}") for n in range(200)) == users


def test_handset_outcome_is_a_function_of_seed_and_key() -> None:
    config = SimConfig(seed=3, failure_rate=0.5)
    keys = [f"k{n}" for n in range(200)]
    outcomes = [rules.handset_outcome(config, k) for k in keys]
    assert outcomes == [rules.handset_outcome(SimConfig(seed=3, failure_rate=0.5), k) for k in keys]
    failed = [o for o in outcomes if not o.delivered]
    assert 0 < len(failed) < len(keys)
    assert {(o.code, o.reason) for o in failed} == {("E-HANDSET", "handset unreachable")}
    other_seed = [rules.handset_outcome(SimConfig(seed=4, failure_rate=0.5), k) for k in keys]
    assert other_seed != outcomes


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("kim@bank.example", None),
        ("kim@bounce.example", "550"),
        ("kim@BOUNCE.example", "550"),
        ("kim@mx.bounce.example", "550"),
        ("kim@notbounce.example", None),
    ],
)
def test_email_bounce_domains(address: str, code: str | None) -> None:
    assert rules.email_outcome(SimConfig(), address).code == code


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("01012345678", "010-****-5678"),
        ("010-1234-5678", "010-****-5678"),
        ("0111234567", "011-***-4567"),
        ("12345", "***"),
        ("", "***"),
    ],
)
def test_mask_phone(number: str, masked: str) -> None:
    assert rules.mask_phone(number) == masked


def test_config_rejects_inverted_latency() -> None:
    with pytest.raises(ValueError, match="latency_ms"):
        SimConfig(latency_ms=(5, 1))


@pytest.mark.parametrize(
    ("endpoint", "expected_share"), [("push", 0.3), ("sms", 0.0), ("alimtalk", 0.0), (None, 0.0)]
)
def test_a_per_endpoint_failure_share_fails_only_that_provider(
    endpoint: str | None, expected_share: float
) -> None:
    config = SimConfig(failure_rate=0.0, failure_rates={"push": 0.3})
    keys = [f"k{i}" for i in range(4000)]
    failed = sum(not rules.handset_outcome(config, k, endpoint).delivered for k in keys)  # type: ignore[arg-type]
    assert failed / len(keys) == pytest.approx(expected_share, abs=0.03)


def test_a_failure_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="failure_rates"):
        SimConfig(failure_rates={"push": 1.5})
