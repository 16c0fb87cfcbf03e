"""mask_record: a raw change record with its personal data masked for a terminal."""

from __future__ import annotations

import pytest

from ums_pipelines.customers.fieldview import mask_record


@pytest.mark.parametrize(
    ("raw", "secrets", "kept"),
    [
        (
            "C2,2024-05-01T09:00:00,이영희,010-2222-3333,N",
            ["이영희", "2222-3333"],
            ["C2,", "이*희"],
        ),
        ("DC000000001202405010900김민수      01012345678YN", ["김민수", "01012345678"], ["DC0"]),
        (
            '{"name": "남궁민수", "email": "kim.minsu@example.com"}',
            ["남궁민수", "kim.minsu"],
            ["남**수"],
        ),
        ("F1 900101-1234567 20240501", ["1234567"], ["20240501"]),
    ],
)
def test_personal_data_in_a_raw_record_is_masked(
    raw: str, secrets: list[str], kept: list[str]
) -> None:
    masked = mask_record(raw)
    assert all(secret not in masked for secret in secrets), masked
    assert all(part in masked for part in kept), masked
