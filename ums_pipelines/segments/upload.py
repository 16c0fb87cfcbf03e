"""An uploaded target file: CSV (UTF-8 with or without BOM, or CP949) or XLSX with a
``customer_id`` column. Every row is checked on its own and a bad row is reported with
its line and reason, never sinking the file; a file that cannot be read is refused.

Reports carry line numbers and reasons, never a cell's value: a file meant to hold
customer ids may hold a phone number in the wrong column."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ums_pipelines.store.engine import Store
from ums_pipelines.store.models import Customer

__all__ = ["RowProblem", "TargetFile", "UploadError", "read_target_file"]

# As the customer sync accepts it (customers/validation.py).
_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_COLUMN = "customer_id"
_LOOKUP_CHUNK = 5_000


class UploadError(ValueError):
    """The file as a whole cannot be used; the message names why."""


@dataclass(frozen=True)
class RowProblem:
    line: int  # the file's line (CSV) or row (XLSX); the header is line 1
    reason: str  # empty | format | duplicate | unknown
    detail: str


@dataclass
class TargetFile:
    name: str
    sha256: str
    rows: int = 0
    ids: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def source(self) -> dict[str, Any]:
        """What the freeze's audit entry records of where its candidates came from."""
        return {
            "kind": "file",
            "file": self.name,
            "sha256": self.sha256,
            "rows": self.rows,
            "accepted": len(self.ids),
            "rejected": len(self.problems),
        }


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            encoding = "cp949"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UploadError(
            f"file: neither UTF-8 nor CP949 text (undecodable byte at offset {exc.start})"
        ) from None


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    try:
        for row in reader:
            yield reader.line_num, list(row)
    except csv.Error as exc:
        raise UploadError(f"file: not a readable CSV at line {reader.line_num}: {exc}") from None


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook  # only for XLSX uploads

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise UploadError(f"file: not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        book.close()


def _cell(value: Any) -> str:
    # Excel keeps 1001 as the number 1001.0; an id is its digits.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _unknown(store: Store, ids: list[str]) -> set[str]:
    known: set[str] = set()
    with store.reading() as session:
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = ids[start : start + _LOOKUP_CHUNK]
            query = select(Customer.customer_id).where(Customer.customer_id.in_(chunk))
            known.update(session.scalars(query))
    return set(ids) - known


def read_target_file(store: Store, path: Path, *, name: str | None = None) -> TargetFile:
    """The valid customer ids of a target file, in file order, with a problem per bad row."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UploadError(f"file: cannot read {path.name}: {exc.strerror}") from None
    result = TargetFile(name or path.name, hashlib.sha256(data).hexdigest())
    is_xlsx = path.suffix.lower() in (".xlsx", ".xlsm") or data.startswith(b"PK\x03\x04")
    rows = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    header = next(((n, r) for n, r in rows if any(_cell(c) for c in r)), None)
    if header is None:
        raise UploadError("file: empty (no header row with customer_id)")
    names = [_cell(c).lower() for c in header[1]]
    if _COLUMN not in names:
        raise UploadError(f"file: the header (line {header[0]}) has no {_COLUMN} column")
    column = names.index(_COLUMN)
    lines: dict[str, int] = {}  # id -> its first line
    for line, row in rows:
        if not any(_cell(c) for c in row):
            continue  # a blank line is no row
        result.rows += 1
        value = _cell(row[column]) if column < len(row) else ""
        if not value:
            result.problems.append(RowProblem(line, "empty", f"{_COLUMN}: empty"))
        elif not _CUSTOMER_ID.match(value):
            detail = f"{_COLUMN}: must be 1-32 characters of A-Z, a-z, 0-9, '_' or '-'"
            result.problems.append(RowProblem(line, "format", detail))
        elif value in lines:
            detail = f"{_COLUMN}: duplicate of line {lines[value]}"
            result.problems.append(RowProblem(line, "duplicate", detail))
        else:
            lines[value] = line
    unknown = _unknown(store, list(lines))
    for value in unknown:
        result.problems.append(RowProblem(lines[value], "unknown", f"{_COLUMN}: no such customer"))
    result.problems.sort(key=lambda p: p.line)
    result.ids = [v for v in lines if v not in unknown]
    return result
