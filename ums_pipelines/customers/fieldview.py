"""How a change file reads, record by record and field by field, masked for a terminal.

What ``ums interface check`` shows: each field's raw text, the value validation made of
it and its error. Personal data is masked unless the caller asks otherwise (and has
audited that): a business team debugging an interface needs the shape of a value, not
the customer's number.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

from ums_pipelines.customers.source import Cell, SourceRow
from ums_pipelines.customers.validation import ChangeRow
from ums_pipelines.masking import mask_email, mask_name, mask_phone, mask_text

__all__ = ["mask_record", "row_view"]

_HANGUL = re.compile(r"[가-힣]{2,}")
_LONG_DIGITS = re.compile(r"\d{9,}")
# Fields shown as they are: ids, times, codes and flags identify no one by themselves.
_NOT_PERSONAL = frozenset(
    {"customer_id", "changed_at", "deceased", "preferred_channel", "push_platform"}
    | {"last_transaction_at", "last_transaction_kind"}
)


def mask_record(text: str) -> str:
    """A raw record with its personal data masked: phones, e-mails, RRN-like numbers,
    Korean names (any Hangul word) and long digit runs (a phone glued to a date)."""
    text = mask_text(text)
    text = _HANGUL.sub(lambda m: mask_name(m.group(0)), text)
    return _LONG_DIGITS.sub(lambda m: m.group(0)[:3] + "*" * (len(m.group(0)) - 3), text)


def _mask(name: str, text: str) -> str:
    if not text:
        return text
    if name == "name":
        return mask_name(text)
    if name == "phone":
        return mask_phone(text)
    if name == "email":
        return mask_email(text)
    if name == "push_token":
        return text[:4] + "***"
    if name in _NOT_PERSONAL or name.startswith("consent_"):
        return text
    return mask_text(text)


def _parsed(row: ChangeRow | None, name: str, tz: tzinfo) -> str:
    if row is None:
        return ""
    if name.startswith("consent_"):
        value: Any = row.consents.get(name)
    else:
        value = getattr(row, name, None)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    # Times in the business zone (Korea time), as the source systems write them.
    return value.astimezone(tz).isoformat() if isinstance(value, datetime) else str(value)


def _field_view(
    cell: Cell, row: ChangeRow | None, errors: dict[str, str], show: bool, tz: tzinfo
) -> dict[str, Any]:
    shown = (lambda t: t) if show else (lambda t: _mask(cell.name, t))
    if cell.ignored:
        return {"field": cell.name, "position": cell.position, "raw": "", "parsed": "",
                "error": None, "ignored": True}  # fmt: skip
    return {
        "field": cell.name,
        "position": cell.position,
        "raw": shown(cell.raw),
        "parsed": shown(_parsed(row, cell.name, tz) if row is not None else cell.value),
        "error": cell.error or errors.get(cell.name),
        "ignored": False,
    }


def row_view(
    source_row: SourceRow,
    result: ChangeRow | list[tuple[str | None, str]],
    show: bool,
    tz: tzinfo,
) -> dict[str, Any]:
    row = result if isinstance(result, ChangeRow) else None
    problems = [] if isinstance(result, ChangeRow) else result
    errors: dict[str, str] = {}
    for name, reason in problems:
        if name:
            errors[name] = f"{errors[name]}; {reason}" if name in errors else reason
    seen = {cell.name for cell in source_row.view}
    return {
        "line": source_row.line_no,
        "valid": row is not None,
        "fields": [_field_view(cell, row, errors, show, tz) for cell in source_row.view],
        # Problems not tied to a field shown above: a broken line, a missing column.
        "problems": [reason for name, reason in problems if name is None or name not in seen],
        "raw": None
        if source_row.view
        else (source_row.raw if show else mask_record(source_row.raw)),
    }
