"""Decoding and CSV parsing of change files (pure, no store)."""

from __future__ import annotations

import pytest

from ums_pipelines.customers.changefile import ChangeFileError, parse_change_file

HEADER = "customer_id,changed_at,name,branch\n"
ROW_1 = "C1,2024-05-01T09:00:00,김민수,강남지점\n"
ROW_2 = 'C2,2024-05-01T09:00:00,"이, 영희","종로지점"\n'


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ((HEADER + ROW_1 + ROW_2).encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + (HEADER + ROW_1 + ROW_2).encode("utf-8"), "utf-8-sig"),
        ((HEADER + ROW_1 + ROW_2).encode("cp949"), "cp949"),
        ((HEADER + ROW_1 + ROW_2).encode("euc-kr"), "cp949"),
        ((HEADER + ROW_1 + ROW_2).replace("\n", "\r\n").encode("cp949"), "cp949"),
    ],
)
def test_encodings_decode_to_the_same_rows(data: bytes, encoding: str) -> None:
    parsed = parse_change_file(data)
    assert parsed.encoding == encoding
    assert parsed.header == ["customer_id", "changed_at", "name", "branch"]
    assert [r.fields for r in parsed.records] == [
        ["C1", "2024-05-01T09:00:00", "김민수", "강남지점"],
        ["C2", "2024-05-01T09:00:00", "이, 영희", "종로지점"],
    ]
    assert [r.line_no for r in parsed.records] == [2, 3]
    assert parsed.bad_lines == []


def test_a_line_in_neither_encoding_is_reported_alone() -> None:
    data = HEADER.encode() + ROW_1.encode() + b"C3,\xff\xfe\x80,x,y\n" + ROW_2.encode()
    parsed = parse_change_file(data)
    assert [r.line_no for r in parsed.records] == [2, 4]
    assert len(parsed.bad_lines) == 1
    bad = parsed.bad_lines[0]
    assert bad.line_no == 3
    assert "line 3" in bad.reason
    assert "UTF-8" in bad.reason and "CP949" in bad.reason
    assert bad.raw.startswith("C3,")


def test_a_cp949_line_in_a_utf8_file_is_decoded_with_a_warning() -> None:
    data = HEADER.encode() + ROW_1.encode() + "C3,2024-05-01,박철수,부산지점\n".encode("cp949")
    parsed = parse_change_file(data)
    assert parsed.encoding == "utf-8"
    assert parsed.records[1].fields[2] == "박철수"
    assert any("line(s) 3" in w and "cp949" in w for w in parsed.warnings)


def test_quoted_field_spanning_lines_keeps_its_start_line() -> None:
    data = (HEADER + 'C1,2024-05-01,"김\n민수",x\n' + ROW_2).encode()
    parsed = parse_change_file(data)
    assert [(r.line_no, r.fields[2]) for r in parsed.records] == [(2, "김\n민수"), (4, "이, 영희")]


def test_blank_lines_are_skipped_and_do_not_shift_line_numbers() -> None:
    parsed = parse_change_file((HEADER + "\n" + ROW_1 + ",,,\n" + ROW_2).encode())
    assert [r.line_no for r in parsed.records] == [3, 5]


def test_broken_quoting_is_reported_for_its_record() -> None:
    parsed = parse_change_file((HEADER + 'C1,2024-05-01,"kim"x,y\n' + ROW_2).encode())
    assert [r.line_no for r in parsed.records] == [3]
    assert [b.line_no for b in parsed.bad_lines] == [2]
    assert "quoting" in parsed.bad_lines[0].reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"\xff\xfe\x80\n\xff\x80\n", "UTF-8 or CP949"),
        (b"customer_id,\xff\x80name\n" + ROW_1.encode(), "header"),
    ],
)
def test_unusable_files_raise(data: bytes, reason: str) -> None:
    with pytest.raises(ChangeFileError, match=reason):
        parse_change_file(data)
