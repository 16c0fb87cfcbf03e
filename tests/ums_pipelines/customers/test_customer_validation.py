"""Row validation: the column contract, field-level reasons, masking (pure, no store)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ums_pipelines.customers.validation import (
    ChangeRow,
    FieldError,
    check_header,
    validate_row,
)

KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2025, 1, 1, tzinfo=UTC)
BASE = {"customer_id": "C0000001", "changed_at": "2024-05-01T09:00:00"}


def _ok(**cells: str) -> ChangeRow:
    result = validate_row({**BASE, **cells}, tz=KST, now=NOW)
    assert isinstance(result, ChangeRow), result
    return result


def _errors(**cells: str) -> list[FieldError]:
    result = validate_row({**BASE, **cells}, tz=KST, now=NOW)
    assert isinstance(result, list), result
    return result


def test_minimal_row_changes_nothing_but_the_time() -> None:
    row = _ok()
    assert row.customer_id == "C0000001"
    assert row.changed_at == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)  # 09:00 KST
    assert (row.name, row.phone, row.email, row.push_token) == (None, None, None, None)
    assert (row.preferred_channel, row.branch, row.deceased, row.consents) == (None, None, None, {})


def test_blank_cells_mean_no_change() -> None:
    row = _ok(name="", phone="  ", email="", push_token="", deceased="", consent_sms_info="")
    assert (row.name, row.phone, row.email, row.push_token, row.deceased) == (None,) * 5
    assert row.consents == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T09:00:00", datetime(2024, 5, 1, 0, 0, tzinfo=UTC)),
        ("2024-05-01 09:00:00", datetime(2024, 5, 1, 0, 0, tzinfo=UTC)),
        ("2024-05-01T09:00:00+09:00", datetime(2024, 5, 1, 0, 0, tzinfo=UTC)),
        ("2024-05-01T09:00:00Z", datetime(2024, 5, 1, 9, 0, tzinfo=UTC)),
        ("2024-05-01T09:00:00.250+00:00", datetime(2024, 5, 1, 9, 0, 0, 250000, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 4, 30, 15, 0, tzinfo=UTC)),
    ],
)
def test_changed_at_is_iso8601_with_naive_meaning_korea_time(
    value: str, expected: datetime
) -> None:
    assert _ok(changed_at=value).changed_at == expected


def test_values_are_normalised() -> None:
    row = _ok(
        name=" 김민수 ",
        phone="+82 10 1234 5678",
        email="Kim.Minsu@Example.COM",
        preferred_channel="AlimTalk",
        deceased="y",
        consent_sms_info="Y",
        consent_push_night_ad="n",
    )
    assert row.name == "김민수"
    assert row.phone == "01012345678"
    assert row.email == "Kim.Minsu@example.com"
    assert row.preferred_channel == "alimtalk"
    assert row.deceased is True
    assert row.consents == {"consent_sms_info": True, "consent_push_night_ad": False}


@pytest.mark.parametrize(
    ("cells", "field", "words"),
    [
        ({"customer_id": ""}, "customer_id", "required"),
        ({"customer_id": "C 1"}, "customer_id", "A-Z"),
        ({"customer_id": "C" * 33}, "customer_id", "1-32"),
        ({"changed_at": ""}, "changed_at", "required"),
        ({"changed_at": "01/05/2024"}, "changed_at", "ISO-8601"),
        ({"changed_at": "2024-13-01T00:00:00"}, "changed_at", "ISO-8601"),
        ({"changed_at": "2030-01-01T00:00:00"}, "changed_at", "future"),
        ({"phone": "02-123-4567"}, "phone", "not a Korean mobile number"),
        ({"phone": "010-12"}, "phone", "not a Korean mobile number"),
        ({"email": "kim@@example.com"}, "email", "not a valid e-mail address"),
        ({"email": "kim@localhost"}, "email", "not a valid e-mail address"),
        ({"email": "k" * 250 + "@example.com"}, "email", "e-mail"),
        ({"name": "김" * 101}, "name", "100"),
        ({"branch": "지" * 51}, "branch", "50"),
        ({"push_token": "t" * 256}, "push_token", "255"),
        ({"preferred_channel": "fax"}, "preferred_channel", "sms, alimtalk, push, email"),
        ({"deceased": "yes"}, "deceased", "Y or N"),
        ({"consent_email_ad": "1"}, "consent_email_ad", "Y or N"),
    ],
)
def test_bad_values_name_their_field(cells: dict[str, str], field: str, words: str) -> None:
    errors = _errors(**cells)
    assert [e.field for e in errors] == [field]
    assert errors[0].reason.startswith(f"{field}: ")
    assert words in errors[0].reason


def test_every_bad_field_is_reported() -> None:
    errors = _errors(phone="123", deceased="X", consent_sms_ad="?")
    assert {e.field for e in errors} == {"phone", "deceased", "consent_sms_ad"}


@pytest.mark.parametrize(
    ("cells", "secrets"),
    [
        ({"phone": "010-1234-56789"}, ["010-1234-56789", "1234", "0101234"]),
        ({"phone": "+82 10 9876 54"}, ["9876"]),
        ({"email": "kim.minsu@@example.com"}, ["kim.minsu"]),
    ],
)
def test_reasons_are_masked(cells: dict[str, str], secrets: list[str]) -> None:
    reason = _errors(**cells)[0].reason
    for secret in secrets:
        assert secret not in reason


def test_header_check() -> None:
    check = check_header([" Customer_ID", "name", "name", "colour", "", "consent_fax_info"])
    assert check.columns[0] == "customer_id"
    assert check.missing == ("changed_at",)
    assert check.duplicates == ("name",)
    assert check.unknown == ("colour", "", "consent_fax_info")
