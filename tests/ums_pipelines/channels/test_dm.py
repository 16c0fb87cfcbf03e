"""The print vendor's batch file and PDF."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from pypdf import PdfReader

from ums_pipelines.channels.dm import (
    FIELDS,
    RECORD_BYTES,
    DmError,
    Letter,
    build_batch,
    parse_batch,
)

NOW = datetime(2026, 11, 25, 9, 30, 0)


def letter(
    n: int = 1, text: str = "김철수 고객님, 거래 내역을 안내드립니다.", **fields: str
) -> Letter:
    values = {
        "key": f"job-dm.{n:024x}",
        "name": "김철수",
        "postcode": "06236",
        "address": "서울특별시 강남구 테헤란로 123",
        "address_detail": "4층 401호",
        "text": text,
    }
    return Letter(**(values | fields))


def test_layout_widths_add_up_to_the_record_length() -> None:
    for kind, fields in FIELDS.items():
        assert 1 + sum(width for _, width, _ in fields) <= RECORD_BYTES, kind


def test_batch_round_trips_and_ties_records_to_pdf_pages() -> None:
    long_text = "\n".join(f"{i}번째 줄: 이번 달 거래 내역을 안내드립니다." for i in range(60))
    letters = [letter(1), letter(2, long_text), letter(3)]
    batch = build_batch("B001", "UMS은행", letters, NOW)
    lines = batch.records.split(b"\r\n")[:-1]
    assert [len(line) for line in lines] == [RECORD_BYTES] * 5
    records = parse_batch(batch.records)
    assert [kind for kind, _ in records] == ["H", "D", "D", "D", "T"]
    assert records[0][1] == {"batch_id": "B001", "created": "20261125093000", "sender": "UMS은행"}
    data = [values for kind, values in records if kind == "D"]
    assert [(d["first_page"], d["pages"]) for d in data] == [("1", "1"), ("2", "2"), ("4", "1")]
    assert data[1]["name"] == "김철수" and data[1]["key"] == letters[1].key
    assert records[-1][1] == {"records": "3", "total_pages": "4"}
    reader = PdfReader(io.BytesIO(batch.pdf))
    assert len(reader.pages) == batch.pages == 4
    # Hangul is set in the built-in CID font, so the text comes back out of the PDF.
    first = reader.pages[0].extract_text()
    assert "서울특별시 강남구 테헤란로 123" in first and "김철수 귀하" in first


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "가" * 20, None),
        ("name", "가" * 21, "name: 42 bytes in CP949, the field holds 40"),
        ("address", "a" * 120, None),
        ("address", "a" * 121, "address: 121 bytes"),
        ("address_detail", "101동 😀", "address_detail: U\\+1F600 cannot be printed"),
        ("key", "k" * 81, "key: 81 bytes"),
        ("text", "감사합니다 🙏", "text: U\\+1F64F cannot be printed"),
    ],
)
def test_fields_that_do_not_fit_are_refused_not_cut(
    field: str, value: str, message: str | None
) -> None:
    made = letter(**{field: value})
    if message is None:
        assert parse_batch(build_batch("B", "S", [made], NOW).records)[1][1][field] == value
    else:
        with pytest.raises(DmError, match=message):
            build_batch("B", "S", [made], NOW)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"H" + b" " * 398 + b"\r\n", "record 1: 399 bytes"),
        (b"X" + b" " * 399 + b"\r\n", "unknown record type 'X'"),
        (b"T" + b"00000ab" + b" " * 392 + b"\r\n", "records '00000ab' is not a number"),
    ],
)
def test_parse_names_the_bad_record(data: bytes, message: str) -> None:
    with pytest.raises(DmError, match=message):
        parse_batch(data)


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(DmError, match="letters: a batch needs at least one letter"):
        build_batch("B", "S", [], NOW)
