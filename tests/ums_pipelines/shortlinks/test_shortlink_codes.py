"""Short-link codes: random enough not to be guessed, and a strict shape check."""

from __future__ import annotations

import math
import string

import pytest

from ums_pipelines.shortlinks.codes import ALPHABET, CODE_BITS, CODE_LENGTH, is_code, new_code


def test_codes_carry_at_least_64_bits() -> None:
    assert len(set(ALPHABET)) == len(ALPHABET)
    bits = len(new_code()) * math.log2(len(ALPHABET))
    assert bits >= 64
    assert pytest.approx(bits) == CODE_BITS


@pytest.mark.parametrize("ambiguous", list("0O1lIo"))
def test_the_alphabet_leaves_out_characters_people_misread(ambiguous: str) -> None:
    assert ambiguous not in ALPHABET


def test_the_alphabet_is_url_safe() -> None:
    assert set(ALPHABET) <= set(string.ascii_letters + string.digits)


def test_many_codes_are_unique_well_formed_and_use_the_whole_alphabet() -> None:
    codes = [new_code() for _ in range(20_000)]
    assert len(set(codes)) == len(codes)
    assert all(len(c) == CODE_LENGTH and is_code(c) for c in codes)
    used = set("".join(codes))
    assert used == set(ALPHABET)  # 240,000 draws of 56 symbols: each appears


def test_symbols_are_spread_evenly() -> None:
    # A biased generator (e.g. modulo over a byte) would skew some symbols by ~10 %+.
    draws = "".join(new_code() for _ in range(10_000))
    expected = len(draws) / len(ALPHABET)
    counts = [draws.count(ch) for ch in ALPHABET]
    assert min(counts) > 0.85 * expected and max(counts) < 1.15 * expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "ABCDEFGHJKL",  # 11
        "ABCDEFGHJKLMN",  # 13
        "ABCDEFGHJKL0",  # a zero
        "ABCDEFGHJKLl",  # a lower-case L
        "ABCDEFGHJK-M",
        "../../etc/pa",
        "../../etc/passwd",
        "ABCDEFGHJKLM\n",
        " ABCDEFGHJKL",
        "ABCDEFGHJKLＭ",  # a full-width M
        "가나다라마바사아자차카타",
        "A" * 1000,
        "healthz",
        "feedback",
    ],
)
def test_is_code_refuses_other_shapes(text: str) -> None:
    assert not is_code(text)


@pytest.mark.parametrize("value", [None, 123456789012, b"ABCDEFGHJKLM", ["ABCDEFGHJKLM"]])
def test_is_code_refuses_non_strings(value: object) -> None:
    assert not is_code(value)


@pytest.mark.parametrize("text", ["ABCDEFGHJKLM", "23456789abcd", "zzzzzzzzzzzz"])
def test_is_code_accepts_codes(text: str) -> None:
    assert is_code(text)
