"""Layouts of fixed-width change files (the bank's 전문 style), read from YAML.

A layout names each field of a record by its byte offset: 전문 are byte-oriented, so in
CP949 a Korean name of 3 characters takes 6 bytes, and ``start``/``length`` count BYTES of
the encoded record (``start`` is 1-based). Example: ``layouts/customer_v1.yaml``;
documented in docs/customer-sync.md.

An invalid layout raises :class:`LayoutError` whose message names the field and the reason
(``fields[3] (phone): bytes 30-41 overlap name (bytes 26-45)``).
"""

from __future__ import annotations

import codecs
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ums_pipelines.customers.validation import CONSENT_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS

__all__ = [
    "FieldSpec",
    "Layout",
    "LayoutError",
    "RecordTypeSpec",
    "TrailerSpec",
    "load_layout",
    "parse_layout",
]

_KNOWN = frozenset(REQUIRED_COLUMNS + OPTIONAL_COLUMNS + CONSENT_COLUMNS)
FieldType = Literal["text", "datetime", "date", "flag", "number"]
_DEFAULT_FORMATS = {"datetime": "%Y%m%d%H%M%S", "date": "%Y%m%d"}


class LayoutError(Exception):
    """The layout cannot be used; the message names the field and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Span(_Strict):
    start: int = Field(ge=1, description="1-based byte offset in the encoded record")
    length: int = Field(ge=1, description="bytes")

    @property
    def end(self) -> int:  # last byte, 1-based, inclusive
        return self.start + self.length - 1

    def cut(self, record: bytes) -> bytes:
        return record[self.start - 1 : self.end]


class FieldSpec(Span):
    name: str = Field(min_length=1, max_length=64)
    type: FieldType = "text"
    # strptime format of datetime/date fields; the parsed value is handed on as ISO-8601.
    format: str | None = None
    # A field the file carries but UMS must not take (e.g. an RRN): never parsed or shown.
    ignore: bool = False

    @property
    def time_format(self) -> str:
        return self.format or _DEFAULT_FORMATS.get(self.type, "")


class RecordTypeSpec(_Strict):
    type: str = Field(min_length=1)


class TrailerSpec(RecordTypeSpec):
    count: Span | None = None  # where the trailer holds the number of data records


class Layout(_Strict):
    name: str = Field(min_length=1)
    encoding: str = "cp949"
    record_length: int = Field(ge=1, description="bytes, without the line ending")
    # True: one record per line (LF or CRLF). False: records back to back, no separator.
    newline: bool = True
    record_type: Span | None = None  # where the record type code sits (header/data/trailer)
    data_type: str | None = None  # record type of data records; None: any but header/trailer
    header: RecordTypeSpec | None = None
    trailer: TrailerSpec | None = None
    fields: list[FieldSpec] = Field(min_length=1)

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None

    def data_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if not f.ignore]


def _where(loc: tuple[int | str, ...], raw: dict[str, Any]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]"
        else:
            parts.append(str(item))
    where = ".".join(parts) or "layout"
    # Name the field by its name too when it has one: "fields[3] (phone).length".
    if len(loc) >= 2 and loc[0] == "fields" and isinstance(loc[1], int):
        fields = raw.get("fields")
        if isinstance(fields, list) and loc[1] < len(fields) and isinstance(fields[loc[1]], dict):
            name = fields[loc[1]].get("name")
            if name:
                where = where.replace(f"fields[{loc[1]}]", f"fields[{loc[1]}] ({name})", 1)
    return where


def _check(layout: Layout) -> list[str]:
    problems: list[str] = []
    seen: dict[str, int] = {}
    spans: list[tuple[str, Span]] = []
    if layout.record_type is not None:
        spans.append(("record_type", layout.record_type))
    for i, spec in enumerate(layout.fields):
        label = f"fields[{i}] ({spec.name})"
        if spec.end > layout.record_length:
            problems.append(
                f"{label}: bytes {spec.start}-{spec.end} pass the record length"
                f" {layout.record_length}"
            )
        if spec.name in seen:
            problems.append(f"{label}: name repeats fields[{seen[spec.name]}]")
        seen.setdefault(spec.name, i)
        if not spec.ignore and spec.name not in _KNOWN:
            problems.append(
                f"{label}: not a change-file column (mark a field UMS must not take ignore: true)"
            )
        if spec.format is not None and spec.type not in _DEFAULT_FORMATS:
            problems.append(f"{label}: format applies to datetime and date fields only")
        if spec.type in _DEFAULT_FORMATS:
            try:
                datetime.strftime(datetime(2024, 1, 2, 3, 4, 5), spec.time_format)
            except ValueError:
                problems.append(f"{label}: format {spec.time_format!r} is not a strftime format")
        for other, span in spans:
            if spec.start <= span.end and span.start <= spec.end:
                problems.append(
                    f"{label}: bytes {spec.start}-{spec.end} overlap {other}"
                    f" (bytes {span.start}-{span.end})"
                )
        spans.append((spec.name, spec))
    for required in REQUIRED_COLUMNS:
        if required not in seen:
            problems.append(f"fields: no {required} field")
    typed = layout.header is not None or layout.trailer is not None or layout.data_type
    if typed and layout.record_type is None:
        problems.append("record_type: required when header, trailer or data_type is given")
    if layout.record_type is not None and layout.record_type.end > layout.record_length:
        problems.append("record_type: passes the record length")
    count = layout.trailer.count if layout.trailer is not None else None
    if count is not None and count.end > layout.record_length:
        problems.append("trailer.count: passes the record length")
    return problems


def parse_layout(raw: object, source: str = "layout") -> Layout:
    """Validate a layout given as parsed YAML/JSON; raise :class:`LayoutError` if invalid."""
    if not isinstance(raw, dict):
        raise LayoutError(f"{source}: must be a mapping with record_length and fields")
    try:
        layout = Layout.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            message = "required" if error["type"] == "missing" else error["msg"]
            problems.append(f"{_where(error['loc'], raw)}: {message}")
        raise LayoutError(f"{source}: " + "; ".join(problems)) from None
    problems = _check(layout)
    if problems:
        raise LayoutError(f"{source}: " + "; ".join(problems))
    return layout


def load_layout(path: Path) -> Layout:
    """Read and validate a YAML layout file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LayoutError(f"layout {path.name}: cannot read: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise LayoutError(f"layout {path.name}: not valid YAML{where}") from None
    return parse_layout(raw, f"layout {path.name}")
