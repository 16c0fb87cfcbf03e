"""Decoding and CSV parsing of customer change files.

Source systems write UTF-8 (with or without BOM) or CP949/EUC-KR, and a file assembled
from several extracts can mix them. The file's encoding is detected first (UTF-8 if the
whole file decodes as UTF-8, else CP949 if it does, else whichever decodes more lines);
each line is then decoded with that encoding, falling back to the other one. A line that
decodes in neither is reported on its own, so one bad line never costs the good rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["BadLine", "ChangeFileError", "ParsedFile", "Record", "parse_change_file"]

_UTF8 = "utf-8"
_CP949 = "cp949"
_BOM = b"\xef\xbb\xbf"


class ChangeFileError(Exception):
    """The file as a whole cannot be used; the message holds no personal data."""


@dataclass(frozen=True)
class Record:
    line_no: int  # physical line where the record starts (1-based, header is line 1)
    fields: list[str]
    raw: str  # the decoded text of the record, without its line ending


@dataclass(frozen=True)
class BadLine:
    line_no: int
    reason: str
    raw: str


@dataclass
class ParsedFile:
    encoding: str  # "utf-8", "utf-8-sig" or "cp949"
    header: list[str]
    header_line: int
    records: list[Record] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _primary_encoding(data: bytes, lines: list[bytes]) -> str:
    if _decodes(data, _UTF8):
        return _UTF8
    if _decodes(data, _CP949):
        return _CP949
    non_ascii = [line for line in lines if not line.isascii()]
    utf8 = sum(_decodes(line, _UTF8) for line in non_ascii)
    cp949_only = sum(_decodes(line, _CP949) and not _decodes(line, _UTF8) for line in non_ascii)
    return _UTF8 if utf8 >= cp949_only else _CP949


class _LineFeed:
    """Feeds decoded lines to csv.reader and remembers which lines each record used."""

    def __init__(self, lines: list[bytes], primary: str) -> None:
        self._lines = lines
        self._order = (primary, _CP949 if primary == _UTF8 else _UTF8)
        self.consumed: list[tuple[int, str]] = []
        self.bad: list[BadLine] = []
        self.fallback_lines: list[int] = []

    def __iter__(self) -> Iterator[str]:
        for line_no, line in enumerate(self._lines, start=1):
            text = self._decode(line_no, line)
            if text is None:
                raw = line.decode(self._order[0], errors="backslashreplace").rstrip("\r\n")
                reason = f"line {line_no} decodes as neither UTF-8 nor CP949"
                self.bad.append(BadLine(line_no, reason, raw))
                continue
            self.consumed.append((line_no, text))
            yield text

    def _decode(self, line_no: int, line: bytes) -> str | None:
        for position, encoding in enumerate(self._order):
            try:
                text = line.decode(encoding)
            except UnicodeDecodeError:
                continue
            if position:
                self.fallback_lines.append(line_no)
            return text
        return None


def parse_change_file(data: bytes) -> ParsedFile:
    """Split a change file into its header and records; raise ChangeFileError if unusable."""
    has_bom = data.startswith(_BOM)
    if has_bom:
        data = data[len(_BOM) :]
    lines = data.splitlines(keepends=True)
    primary = _primary_encoding(data, lines)
    feed = _LineFeed(lines, primary)
    # strict: broken quoting is reported for its record instead of silently misparsed.
    reader = csv.reader(feed, strict=True)
    header: list[str] | None = None
    parsed: ParsedFile | None = None
    while True:
        feed.consumed.clear()
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if not feed.consumed:  # pragma: no cover - csv raises only after reading a line
                raise ChangeFileError(f"unreadable CSV: {exc}") from None
            line_no = feed.consumed[0][0]
            if parsed is None:
                raise ChangeFileError(f"line {line_no}: the header is not valid CSV") from None
            raw = "".join(text for _, text in feed.consumed).rstrip("\r\n")
            parsed.bad_lines.append(BadLine(line_no, f"line {line_no}: malformed CSV quoting", raw))
            continue
        if not fields or all(not f.strip() for f in fields):
            continue  # blank lines carry nothing
        line_no = feed.consumed[0][0]
        raw = "".join(text for _, text in feed.consumed).rstrip("\r\n")
        if parsed is None:
            header = fields
            if any(bad.line_no < line_no for bad in feed.bad):
                raise ChangeFileError("the header line decodes as neither UTF-8 nor CP949")
            encoding = "utf-8-sig" if has_bom and primary == _UTF8 else primary
            parsed = ParsedFile(encoding=encoding, header=header, header_line=line_no)
            continue
        parsed.records.append(Record(line_no, fields, raw))
    if parsed is None:
        if feed.bad:
            raise ChangeFileError("no line of the file decodes as UTF-8 or CP949")
        raise ChangeFileError("the file is empty (no header row)")
    parsed.bad_lines.extend(feed.bad)
    parsed.bad_lines.sort(key=lambda bad: bad.line_no)
    if feed.fallback_lines:
        other = _CP949 if primary == _UTF8 else _UTF8
        shown = ", ".join(str(n) for n in feed.fallback_lines[:10])
        more = " ..." if len(feed.fallback_lines) > 10 else ""
        parsed.warnings.append(f"line(s) {shown}{more} decoded as {other}, not {primary}")
    return parsed
