"""Numbers of MO senders, as E.164 and as the national form customer records hold."""

from __future__ import annotations

import pytest

from ums_pipelines.contact.matching import phone_forms


@pytest.mark.parametrize(
    ("raw", "forms"),
    [
        ("01012345678", ("+821012345678", "01012345678")),
        ("010-1234-5678", ("+821012345678", "01012345678")),
        ("+82 10 1234 5678", ("+821012345678", "01012345678")),
        ("821012345678", ("+821012345678", "01012345678")),
        ("+1 650-253-0000", ("+16502530000", "+16502530000")),  # abroad: E.164 both
        ("12345", ("12345", "12345")),  # not a number: its digits, matched to nothing
        ("phone", ("", "")),
    ],
)
def test_phone_forms(raw: str, forms: tuple[str, str]) -> None:
    assert phone_forms(raw) == forms
