"""Which format a change file is in, and parsing CSV and JSON Lines files into rows.

- A file whose name matches a glob of ``Settings.change_layouts`` (``UMS_CHANGE_LAYOUTS``,
  JSON ``{"glob": "layout.yaml"}``, first match wins, matched case-insensitively against
  the file name) is fixed-width, read with that layout (a relative layout path is
  relative to ``UMS_HOME``); the mapping wins over the suffix.
- Else ``*.csv`` is CSV (:mod:`~ums_pipelines.customers.changefile`) and ``*.jsonl`` is
  JSON Lines: one object per line with the CSV's column names as keys.
- Anything else is not a change file and stays where it is.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path

from ums_pipelines.customers.changefile import ChangeFileError, parse_change_file
from ums_pipelines.customers.fixedwidth import parse_fixed_width
from ums_pipelines.customers.layout import Layout, LayoutError, load_layout
from ums_pipelines.customers.source import Cell, ChangeSource, SourceRow
from ums_pipelines.customers.validation import check_header, known_column
from ums_pipelines.masking import mask_text
from ums_pipelines.settings import Settings

__all__ = [
    "SUFFIXES",
    "is_change_file",
    "layout_path_for",
    "parse_csv",
    "parse_jsonl",
    "read_change_file",
]

SUFFIXES = (".csv", ".jsonl")
_BOM = b"\xef\xbb\xbf"


def layout_path_for(name: str, settings: Settings) -> Path | None:
    """The layout configured for a file name, or None when no glob matches it."""
    for pattern, path in settings.change_layouts.items():
        if fnmatchcase(name.lower(), pattern.lower()):
            return path if path.is_absolute() else settings.resolved_home / path
    return None


def is_change_file(name: str, settings: Settings) -> bool:
    if name.startswith("."):
        return False  # a file still being written (.name.tmp) or hidden
    return Path(name).suffix.lower() in SUFFIXES or layout_path_for(name, settings) is not None


def read_change_file(
    name: str, data: bytes, settings: Settings, layout: Layout | None = None
) -> ChangeSource:
    """Parse a change file by its name (or with ``layout``); raise ChangeFileError if unusable."""
    if layout is None:
        path = layout_path_for(name, settings)
        if path is not None:
            try:
                layout = load_layout(path)
            except LayoutError as exc:
                raise ChangeFileError(str(exc)) from None
    if layout is not None:
        return parse_fixed_width(data, layout)
    if Path(name).suffix.lower() == ".jsonl":
        return parse_jsonl(data)
    if Path(name).suffix.lower() == ".csv":
        return parse_csv(data)
    raise ChangeFileError(f"no format for {Path(name).suffix or 'a name without suffix'}")


def parse_csv(data: bytes) -> ChangeSource:
    parsed = parse_change_file(data)
    check = check_header(parsed.header)
    if check.missing:
        raise ChangeFileError(f"missing required column(s): {', '.join(check.missing)}")
    if check.duplicates:
        raise ChangeFileError(f"duplicate column(s): {', '.join(check.duplicates)}")
    source = ChangeSource("csv", parsed.encoding)
    if check.unknown:
        shown = ", ".join(c or "<blank>" for c in check.unknown)
        source.warnings.append(mask_text(f"unknown column(s) ignored: {shown}"))
    source.warnings.extend(mask_text(w) for w in parsed.warnings)
    columns = check.columns
    rows = [SourceRow(bad.line_no, bad.raw, None, [(None, bad.reason)]) for bad in parsed.bad_lines]
    for rec in parsed.records:
        if len(rec.fields) != len(columns):
            reason = f"row has {len(rec.fields)} fields, the header has {len(columns)}"
            rows.append(SourceRow(rec.line_no, rec.raw, None, [(None, reason)]))
            continue
        cells: dict[str, str] = {}
        row = SourceRow(rec.line_no, rec.raw, cells)
        for column, text in zip(columns, rec.fields, strict=True):
            ignored = column in check.unknown
            row.view.append(Cell(column or "<blank>", text, text, ignored=ignored))
            if not ignored:
                cells[column] = text
        rows.append(row)
    source.rows = sorted(rows, key=lambda r: r.line_no)
    return source


def _decode_line(line: bytes) -> tuple[str | None, bool]:
    """The line's text and whether it took the CP949 fallback; None if neither decodes."""
    for fallback, encoding in enumerate(("utf-8", "cp949")):
        try:
            return line.decode(encoding), bool(fallback)
        except UnicodeDecodeError:
            continue
    return None, False


def _cell_value(value: object) -> str | None:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    return None


def _jsonl_row(line_no: int, text: str, unknown: set[str]) -> SourceRow:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return SourceRow(line_no, text, None, [(None, f"line {line_no}: not JSON ({exc.msg})")])
    if not isinstance(obj, dict):
        reason = f"line {line_no}: a JSON {type(obj).__name__}, not an object"
        return SourceRow(line_no, text, None, [(None, reason)])
    cells: dict[str, str] = {}
    row = SourceRow(line_no, text, cells)
    for key, value in obj.items():
        column = str(key).strip().lower()
        ignored = not known_column(column)
        cell = _cell_value(value)
        if ignored:
            unknown.add(column or "<blank>")
            row.view.append(Cell(column, "", "", ignored=True))
            continue
        if column in cells:
            row.problems.append((column, f"{column}: given twice"))
            continue
        if cell is None:
            reason = f"{column}: must be a string, number, boolean or null"
            row.problems.append((column, reason))
            row.view.append(Cell(column, json.dumps(value, ensure_ascii=False), "", error=reason))
            continue
        cells[column] = cell
        row.view.append(Cell(column, cell, cell))
    return row


def parse_jsonl(data: bytes) -> ChangeSource:
    """One JSON object per line; a line that is not one is a bad row with its line number."""
    has_bom = data.startswith(_BOM)
    if has_bom:
        data = data[len(_BOM) :]
    source = ChangeSource("jsonl", "utf-8-sig" if has_bom else "utf-8")
    unknown: set[str] = set()
    fallback: list[int] = []
    for line_no, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        text, fell_back = _decode_line(line)
        if text is None:
            raw = line.decode("utf-8", errors="backslashreplace")
            reason = f"line {line_no} decodes as neither UTF-8 nor CP949"
            source.rows.append(SourceRow(line_no, raw, None, [(None, reason)]))
            continue
        if fell_back:
            fallback.append(line_no)
        source.rows.append(_jsonl_row(line_no, text, unknown))
    if not source.rows:
        raise ChangeFileError("the file is empty (no JSON line)")
    if all(row.cells is None for row in source.rows):
        raise ChangeFileError("no line of the file is a JSON object")
    if unknown:
        source.warnings.append(mask_text(f"unknown field(s) ignored: {', '.join(sorted(unknown))}"))
    if fallback:
        shown = ", ".join(str(n) for n in fallback[:10]) + (" ..." if len(fallback) > 10 else "")
        source.warnings.append(f"line(s) {shown} decoded as cp949, not utf-8")
    return source
