"""Fixed-width change files (전문): records cut into fields by BYTE offsets of a layout.

Each field's bytes are sliced from the encoded record first and decoded alone, so a
Korean name of 3 characters in CP949 takes its 6 bytes and never shifts the fields after
it; a field whose bytes do not decode (e.g. a boundary through a character) is an error
of that field. CP949 trail bytes are never CR or LF, so cutting lines on bytes is safe.
"""

from __future__ import annotations

from datetime import datetime

from ums_pipelines.customers.changefile import ChangeFileError
from ums_pipelines.customers.layout import FieldSpec, Layout
from ums_pipelines.customers.report import Issue
from ums_pipelines.customers.source import Cell, ChangeSource, SourceRow

__all__ = ["parse_fixed_width"]

_BOM = b"\xef\xbb\xbf"


def _records(data: bytes, layout: Layout) -> list[tuple[int, bytes]]:
    if layout.newline:
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        return [
            (n, line.removesuffix(b"\r"))
            for n, line in enumerate(lines, start=1)
            if line.strip()  # blank lines carry nothing
        ]
    size = layout.record_length
    return [(n, data[i : i + size]) for n, i in enumerate(range(0, len(data), size), start=1)]


def _text(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, errors="backslashreplace")


def _convert(spec: FieldSpec, text: str) -> str:
    """The cell value validation gets; raise ValueError with a reason free of the value."""
    if spec.type in ("datetime", "date"):
        if not text or not text.strip("0"):
            return ""  # blanks and zeros: no value, as 전문 pad an absent date
        try:
            parsed = datetime.strptime(text, spec.time_format)
        except ValueError:
            raise ValueError(f"does not match the layout format {spec.time_format}") from None
        return parsed.date().isoformat() if spec.type == "date" else parsed.isoformat()
    if spec.type == "number" and text and not text.isdigit():
        raise ValueError("must be digits")
    return text


def _kept(record: bytes, layout: Layout) -> str:
    """The record's text as quarantined: the bytes of ignored fields (an RRN the file
    carries but UMS must not take) are starred out, so they never reach the store."""
    data = bytearray(record)
    for spec in layout.fields:
        if spec.ignore and spec.start <= len(data):
            end = min(spec.end, len(data))
            data[spec.start - 1 : end] = b"*" * (end - spec.start + 1)
    return _text(bytes(data), layout.encoding)


def _cut(line_no: int, record: bytes, layout: Layout) -> SourceRow:
    raw = _kept(record, layout)
    cells: dict[str, str] = {}
    row = SourceRow(line_no, raw, cells)
    for spec in layout.fields:
        piece = spec.cut(record)
        where = f"bytes {spec.start}" + (f"-{spec.end}" if spec.length > 1 else "")
        if spec.ignore:
            row.view.append(Cell(spec.name, "", "", where, ignored=True))
            continue
        try:
            text = piece.decode(layout.encoding).strip()
        except UnicodeDecodeError:
            reason = f"{spec.name}: {where} do not decode as {layout.encoding}"
            row.problems.append((spec.name, reason))
            row.view.append(Cell(spec.name, _text(piece, layout.encoding), "", where, reason))
            continue
        try:
            value = _convert(spec, text)
        except ValueError as exc:
            reason = f"{spec.name}: {exc}"
            row.problems.append((spec.name, reason))
            row.view.append(Cell(spec.name, text, "", where, reason))
            continue
        cells[spec.name] = value
        row.view.append(Cell(spec.name, text, value, where))
    return row


def _type_of(record: bytes, layout: Layout) -> str | None:
    if layout.record_type is None:
        return None
    return _text(layout.record_type.cut(record), layout.encoding).strip()


def parse_fixed_width(data: bytes, layout: Layout) -> ChangeSource:
    """Cut a fixed-width file into rows; raise ChangeFileError if it has no usable record."""
    if data.startswith(_BOM) and layout.encoding.startswith("utf"):
        data = data[len(_BOM) :]
    records = _records(data, layout)
    if not records:
        raise ChangeFileError("the file is empty (no record)")
    size = layout.record_length
    if not any(len(record) == size for _, record in records):
        raise ChangeFileError(f"no record is {size} bytes long (the layout {layout.name})")
    source = ChangeSource(f"fixed:{layout.name}", layout.encoding)
    header = layout.header.type if layout.header else None
    trailer = layout.trailer.type if layout.trailer else None
    data_count = 0
    trailer_seen: tuple[int, bytes] | None = None
    for index, (line_no, record) in enumerate(records):
        if len(record) != size:
            # Counted as a data record: the sender wrote it as one, the trailer counts it.
            data_count += 1
            reason = f"record is {len(record)} bytes, the layout's record length is {size}"
            text = _kept(record, layout)
            source.rows.append(SourceRow(line_no, text, None, [(None, reason)]))
            continue
        kind = _type_of(record, layout)
        if header is not None and kind == header:
            if index != 0:
                reason = f"header record (type {header}) is not the first record"
                source.file_issues.append(Issue(line_no, "record_type", reason))
            continue
        if trailer is not None and kind == trailer:
            if index != len(records) - 1:
                reason = f"trailer record (type {trailer}) is not the last record"
                source.file_issues.append(Issue(line_no, "record_type", reason))
            trailer_seen = (line_no, record)
            continue
        data_count += 1
        if layout.data_type is not None and kind != layout.data_type:
            reason = f"record_type: {kind!r} is not a data record (type {layout.data_type})"
            source.rows.append(
                SourceRow(line_no, _kept(record, layout), None, [("record_type", reason)])
            )
            continue
        source.rows.append(_cut(line_no, record, layout))
    first_line = records[0][0]
    if header is not None and _type_of(records[0][1], layout) != header:
        source.file_issues.append(
            Issue(first_line, "record_type", f"no header record (type {header}) first")
        )
    if trailer is not None:
        _check_trailer(source, layout, trailer_seen, data_count, records[-1][0])
    return source


def _check_trailer(
    source: ChangeSource,
    layout: Layout,
    seen: tuple[int, bytes] | None,
    data_count: int,
    last_line: int,
) -> None:
    assert layout.trailer is not None
    if seen is None:
        reason = f"no trailer record (type {layout.trailer.type}): the file may be truncated"
        source.file_issues.append(Issue(last_line, "record_count", reason))
        return
    line_no, record = seen
    if layout.trailer.count is None:
        return
    text = _text(layout.trailer.count.cut(record), layout.encoding).strip()
    if not text.isdigit():
        source.file_issues.append(Issue(line_no, "record_count", "record_count: must be digits"))
    elif int(text) != data_count:
        reason = (
            f"record_count: the trailer says {int(text)} data records, the file has {data_count}"
        )
        source.file_issues.append(Issue(line_no, "record_count", reason))
