"""Uploaded target files: CSV in CP949 or UTF-8 with a BOM, and XLSX; every bad row is
reported with its line and reason (never its value), a file that cannot be read is refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from ums_pipelines.segments import RowProblem, UploadError, read_target_file

# Lines: 1 header, 2 ok, 3 empty, 4 bad format (a name in the id column), 5 duplicate of 2,
# 6 blank (no row), 7 unknown customer, 8 ok.
CSV_TEXT = "고객명,customer_id\n김,U1\n이,\n박,홍길동\n최,U1\n\n정,NOPE\n강,U2\n"
EXPECTED = [
    RowProblem(3, "empty", "customer_id: empty"),
    RowProblem(4, "format", "customer_id: must be 1-32 characters of A-Z, a-z, 0-9, '_' or '-'"),
    RowProblem(5, "duplicate", "customer_id: duplicate of line 2"),
    RowProblem(7, "unknown", "customer_id: no such customer"),
]


@pytest.fixture
def known(bank: Any) -> Any:
    bank.add_customer("U1", phone="01050000001")
    bank.add_customer("U2", phone="01050000002")
    return bank


@pytest.mark.parametrize(
    "raw",
    [CSV_TEXT.encode("cp949"), b"\xef\xbb\xbf" + CSV_TEXT.encode("utf-8"), CSV_TEXT.encode()],
    ids=["cp949", "utf8-bom", "utf8"],
)
def test_csv(known: Any, tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "targets.csv"
    path.write_bytes(raw)
    got = read_target_file(known.store, path)
    assert got.ids == ["U1", "U2"]
    assert got.problems == EXPECTED
    assert got.rows == 6
    assert got.source()["accepted"] == 2 and got.source()["rejected"] == 4
    assert len(got.source()["sha256"]) == 64


def test_xlsx(known: Any, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [
        ("customer_id", "memo"),
        ("U1", "a"),
        (None, "b"),
        ("홍길동", "c"),
        ("U1", "d"),
        (None, None),
        ("NOPE", "e"),
        ("U2", "f"),
    ]:
        sheet.append(row)
    path = tmp_path / "targets.xlsx"
    book.save(path)
    got = read_target_file(known.store, path)
    assert got.ids == ["U1", "U2"]
    assert got.problems == EXPECTED


def test_xlsx_numeric_ids(bank: Any, tmp_path: Path) -> None:
    bank.add_customer("1001", phone="01050000003")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["CUSTOMER_ID"])
    sheet.append([1001])
    sheet.append([10.5])
    path = tmp_path / "n.xlsx"
    book.save(path)
    got = read_target_file(bank.store, path)
    assert got.ids == ["1001"]
    assert [(p.line, p.reason) for p in got.problems] == [(3, "format")]


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("a.csv", b"", "file: empty"),
        ("a.csv", b"id,branch\nU1,x\n", "the header (line 1) has no customer_id column"),
        ("a.csv", b"customer_id\n\xff\xfe\xfa\xff\n", "neither UTF-8 nor CP949"),
        ("a.xlsx", b"not a workbook", "not a readable XLSX workbook"),
        ("a.xlsx", b"PK\x03\x04broken", "not a readable XLSX workbook"),
    ],
)
def test_unreadable_file_refused(
    known: Any, tmp_path: Path, name: str, raw: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(raw)
    with pytest.raises(UploadError, match=re.escape(message)):
        read_target_file(known.store, path)


def test_missing_file_refused(known: Any, tmp_path: Path) -> None:
    with pytest.raises(UploadError, match=r"file: cannot read gone\.csv"):
        read_target_file(known.store, tmp_path / "gone.csv")
