"""Korean mobile numbers: normalisation, E.164, masked errors."""

from __future__ import annotations

import pytest

from ums_pipelines.phones import InvalidPhone, normalize_kr_mobile, to_e164


@pytest.mark.parametrize(
    "raw",
    [
        "010-1234-5678",
        "01012345678",
        "+82 10 1234 5678",
        "+82-10-1234-5678",
        "+82 (0)10 1234 5678",
        "010 1234 5678",
        "010.1234.5678",
        "(010) 1234-5678",
        " 010-1234-5678 ",
    ],
)
def test_normalize_accepts_common_spellings(raw: str) -> None:
    assert normalize_kr_mobile(raw) == "01012345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "010-1234",  # too short
        "010-1234-56789",  # too long
        "02-123-4567",  # Seoul landline, not a mobile
        "031-123-4567",  # landline
        "1588-1234",  # nationwide service number
        "+1 650 253 0000",  # valid, but American
        "010-1234-567a",  # letters are a data error, not a vanity number
        "010-CALL-NOW",
        "phone",
    ],
)
def test_normalize_rejects(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_kr_mobile(raw)


def test_invalid_phone_is_a_value_error_with_a_masked_message() -> None:
    with pytest.raises(ValueError, match=r"010-\*\*\*\*\*-6789") as caught:
        normalize_kr_mobile("010-1234-56789")
    assert "1234" not in str(caught.value)
    assert "010-1234-56789" not in str(caught.value)


@pytest.mark.parametrize(
    ("digits", "e164"),
    [
        ("01012345678", "+821012345678"),
        ("010-9876-5432", "+821098765432"),
        ("0212345678", "+82212345678"),
    ],
)
def test_to_e164(digits: str, e164: str) -> None:
    assert to_e164(digits) == e164


def test_to_e164_rejects_garbage_without_echoing_it() -> None:
    with pytest.raises(InvalidPhone) as caught:
        to_e164("0109999")
    assert "0109999" not in str(caught.value)
