"""A provider's invoice files, read and checked field by field.

Summary (one line per message type)::

    provider,month,message_type,count,unit_price,amount
    sim-sms,2026-03,SMS,1200,9.9,11880

Detail (optional, one line per billed message; the key is the provider's message id or
the client key we sent, i.e. ``messages.provider_message_id`` or ``idempotency_key``)::

    message_key,message_type,amount
    SIM-000123,SMS,9.9

UTF-8 (a BOM is accepted); amounts in KRW. Every bad field is reported with its line
number, all at once, so a provider's file is fixed in one round.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

__all__ = [
    "DETAIL_COLUMNS",
    "INVOICE_COLUMNS",
    "DetailLine",
    "InvoiceError",
    "InvoiceLine",
    "read_detail",
    "read_invoice",
]

INVOICE_COLUMNS = ("provider", "month", "message_type", "count", "unit_price", "amount")
DETAIL_COLUMNS = ("message_key", "message_type", "amount")


class InvoiceError(ValueError):
    """A file that cannot be reconciled: ``problems`` are ``line N: field: reason``."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path.name}: " + "; ".join(problems))


@dataclass(frozen=True)
class InvoiceLine:
    line: int
    message_type: str
    count: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class DetailLine:
    line: int
    message_key: str
    message_type: str
    amount: Decimal


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvoiceError(path, [f"file: cannot read: {exc}"]) from None
    reader = csv.DictReader(io.StringIO(text))
    header = tuple((name or "").strip() for name in reader.fieldnames or ())
    missing = [c for c in columns if c not in header]
    if missing:
        raise InvoiceError(path, [f"line 1: header: missing column(s) {', '.join(missing)}"])
    for row in reader:
        values = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
        if any(values.values()):  # blank lines carry nothing
            yield reader.line_num, values


def _amount(value: str, name: str, line: int, problems: list[str]) -> Decimal:
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation:
        problems.append(f"line {line}: {name}: {value!r} is not a number")
        return Decimal(0)
    if not amount.is_finite() or amount < 0:
        problems.append(f"line {line}: {name}: must be 0 or more")
    return amount


def read_invoice(path: Path, provider: str, month: str) -> list[InvoiceLine]:
    """The summary lines; every line must be ``provider``'s for ``month``, one per type."""
    problems: list[str] = []
    lines: list[InvoiceLine] = []
    seen: dict[str, int] = {}
    for n, row in _rows(path, INVOICE_COLUMNS):
        if row["provider"] != provider:
            problems.append(f"line {n}: provider: {row['provider']!r} is not {provider!r}")
        if row["month"] != month:
            problems.append(f"line {n}: month: {row['month']!r} is not {month!r}")
        mtype = row["message_type"]
        if not mtype:
            problems.append(f"line {n}: message_type: empty")
        elif mtype in seen:
            problems.append(f"line {n}: message_type: {mtype} already on line {seen[mtype]}")
        seen.setdefault(mtype, n)
        count = 0
        raw = row["count"].replace(",", "")
        if not raw.isdigit():
            problems.append(f"line {n}: count: {row['count']!r} is not a whole number ≥ 0")
        else:
            count = int(raw)
        unit = _amount(row["unit_price"], "unit_price", n, problems)
        amount = _amount(row["amount"], "amount", n, problems)
        lines.append(InvoiceLine(n, mtype, count, unit, amount))
    if problems:
        raise InvoiceError(path, problems)
    return lines


def read_detail(path: Path) -> list[DetailLine]:
    """The per-message lines; a key may repeat (that is a message billed twice)."""
    problems: list[str] = []
    lines: list[DetailLine] = []
    for n, row in _rows(path, DETAIL_COLUMNS):
        if not row["message_key"]:
            problems.append(f"line {n}: message_key: empty")
        if not row["message_type"]:
            problems.append(f"line {n}: message_type: empty")
        amount = _amount(row["amount"], "amount", n, problems)
        lines.append(DetailLine(n, row["message_key"], row["message_type"], amount))
    if problems:
        raise InvoiceError(path, problems)
    return lines
