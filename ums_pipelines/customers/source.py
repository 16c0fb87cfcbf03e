"""A change file of any format, parsed into rows of named cells before validation.

CSV, JSON Lines and fixed-width files differ in how a record is cut into fields; from
here on they are the same: each :class:`SourceRow` has its cells by column name (what
:func:`~ums_pipelines.customers.validation.validate_row` takes) or the problems that kept
it from being cut, and :class:`Cell` views for ``ums interface check``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ums_pipelines.customers.report import Issue

__all__ = ["Cell", "ChangeSource", "SourceRow"]


@dataclass(frozen=True)
class Cell:
    """One field of one record as the file has it; ``raw`` and ``value`` hold personal data."""

    name: str
    raw: str  # the field's text as found (undecodable bytes shown escaped)
    value: str  # what validation gets ("" is "no change")
    position: str | None = None  # fixed-width: "bytes 12-25"
    error: str | None = None  # a problem found while cutting or converting the field
    ignored: bool = False  # not a column UMS takes (unknown, or ignore: true in a layout)


@dataclass
class SourceRow:
    line_no: int  # line (CSV, JSON Lines, newline-separated records) or record number
    raw: str  # the record's text, personal data included
    cells: dict[str, str] | None  # known columns only; None when it could not be cut
    problems: list[tuple[str | None, str]] = field(default_factory=list)  # (field, masked reason)
    view: list[Cell] = field(default_factory=list)


@dataclass
class ChangeSource:
    format: str  # "csv", "jsonl" or "fixed:<layout name>"
    encoding: str
    rows: list[SourceRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # masked
    # Problems of the file as a whole that do not cost its rows (e.g. a trailer count).
    file_issues: list[Issue] = field(default_factory=list)
