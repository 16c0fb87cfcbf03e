"""A check against values from a generator we did not write (Faker's ko_KR provider): every
real-format phone number, RRN with a real date and card in a current IIN range is found."""

from __future__ import annotations

from datetime import date

import phonenumbers
from faker import Faker

from ums_pipelines.compliance.pii import scan_text

_CENTURY = {"1": 1900, "2": 1900, "3": 2000, "4": 2000}


def found(text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in scan_text(text)]


def faker() -> Faker:
    fake = Faker("ko_KR")
    fake.seed_instance(20261126)
    return fake


def test_faker_phone_numbers() -> None:
    fake, checked = faker(), 0
    for _ in range(300):
        number = fake.phone_number()
        if not phonenumbers.is_valid_number(phonenumbers.parse(number, "KR")):
            continue  # Faker also makes numbers in unassigned ranges
        checked += 1
        assert found(f"연락처 {number} 입니다") == [("PHONE", number)]
    assert checked > 250


def _real_date(rrn: str) -> bool:
    try:
        date(_CENTURY[rrn[7]] + int(rrn[:2]), int(rrn[2:4]), int(rrn[4:6]))
    except (KeyError, ValueError):
        return False
    return True


def test_faker_resident_numbers() -> None:
    fake, checked = faker(), 0
    for _ in range(300):
        rrn = fake.ssn()
        text = f"주민번호 {rrn}"
        if _real_date(rrn):
            checked += 1
            assert found(text) == [("KR_RRN", rrn)]
        else:  # Faker writes month or day 00 now and then: not an RRN
            assert found(text) == []
    assert checked > 200


def test_faker_cards_in_current_iin_ranges() -> None:
    fake, checked = faker(), 0
    for _ in range(300):
        number = fake.credit_card_number()
        # Faker also makes retired JCB 1800/2131 and Maestro 12-digit numbers, and JCB
        # outside 3528-3589: out of scope for a 13-19 digit current-IIN recogniser.
        if len(number) < 13 or number[:4] in ("1800", "2131"):
            continue
        if number.startswith("35") and not "3528" <= number[:4] <= "3589":
            continue
        checked += 1
        assert found(f"카드번호 {number} 결제") == [("CARD", number)]
    assert checked > 200
