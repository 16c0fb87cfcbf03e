"""DM: paper letters handed to a print vendor as one batch file plus one PDF.

The batch file is fixed-width, 400 bytes per record in CP949 (EUC-KR), CRLF-terminated,
which is what Korean print and mail vendors take. Text fields are space-padded on the
right, numbers zero-padded on the left; a field never splits a Hangul character, and a
value that does not fit is refused rather than cut (a truncated address is a lost
letter).

Header ``H``: type(1) batch id(40) created YYYYMMDDHHMMSS(14) sender(20) filler(325).
Data ``D``: type(1) seq(7) idempotency key(80) name(40) postcode(6) address(120)
address detail(80) first page(6) page count(3) filler(57).
Trailer ``T``: type(1) records(7) pages(7) filler(385).

The PDF holds every letter in record order, each starting on a new page; ``first
page`` (1-based) and ``page count`` tie a record to its pages, so the vendor can check
the two files against each other. Hangul is set in reportlab's built-in CID font
HYSMyeongJo-Medium, so no font file ships with UMS. Names and addresses are in these
files because the vendor prints them; they never go to a log.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

__all__ = [
    "FIELDS",
    "RECORD_BYTES",
    "DmBatch",
    "DmError",
    "Letter",
    "build_batch",
    "check_letter",
    "parse_batch",
]

RECORD_BYTES = 400
ENCODING = "cp949"
FONT = "HYSMyeongJo-Medium"
# (name, width, numeric) per record type, in order; the filler completes 400 bytes.
FIELDS: dict[str, tuple[tuple[str, int, bool], ...]] = {
    "H": (("batch_id", 40, False), ("created", 14, False), ("sender", 20, False)),
    "D": (
        ("seq", 7, True),
        ("key", 80, False),
        ("name", 40, False),
        ("postcode", 6, False),
        ("address", 120, False),
        ("address_detail", 80, False),
        ("first_page", 6, True),
        ("pages", 3, True),
    ),
    "T": (("records", 7, True), ("total_pages", 7, True)),
}
_LINES_PER_PAGE = 38
_CHARS_PER_LINE = 40  # Hangul is full-width: about 40 per line at 11 pt on A4


class DmError(ValueError):
    """A letter or batch that cannot be printed; the message names the field."""


@dataclass(frozen=True)
class Letter:
    key: str
    name: str
    postcode: str
    address: str
    address_detail: str
    text: str


@dataclass(frozen=True)
class DmBatch:
    batch_id: str
    records: bytes  # the fixed-width file
    pdf: bytes
    pages: int


def _field(name: str, value: str, width: int, numeric: bool) -> bytes:
    if numeric:
        if not value.isdigit() or len(value) > width:
            raise DmError(f"{name}: {value!r} is not a number of at most {width} digits")
        return value.rjust(width, "0").encode("ascii")
    try:
        raw = value.encode(ENCODING)
    except UnicodeEncodeError as exc:
        char = value[exc.start]
        raise DmError(f"{name}: U+{ord(char):04X} cannot be printed (outside CP949)") from None
    if len(raw) > width:
        raise DmError(f"{name}: {len(raw)} bytes in CP949, the field holds {width}")
    return raw + b" " * (width - len(raw))


def _record(kind: str, values: dict[str, str]) -> bytes:
    out = kind.encode() + b"".join(
        _field(name, values[name], width, numeric) for name, width, numeric in FIELDS[kind]
    )
    return out + b" " * (RECORD_BYTES - len(out)) + b"\r\n"


def _layout(text: str) -> list[list[str]]:
    """The letter's lines, page by page."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, _CHARS_PER_LINE) or [""])
    return [lines[i : i + _LINES_PER_PAGE] for i in range(0, len(lines), _LINES_PER_PAGE)]


def _pdf(letters: Sequence[Letter]) -> tuple[bytes, list[int]]:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=True)
    pdf.setTitle("UMS DM batch")
    width, height = A4
    counts: list[int] = []
    for letter in letters:
        pages = _layout(letter.text)
        for number, lines in enumerate(pages):
            pdf.setFont(FONT, 10)
            if number == 0:
                pdf.drawString(60, height - 60, f"({letter.postcode}) {letter.address}")
                pdf.drawString(60, height - 74, letter.address_detail)
                pdf.drawString(60, height - 92, f"{letter.name} 귀하")
            pdf.setFont(FONT, 11)
            y = height - 140
            for line in lines:
                pdf.drawString(60, y, line)
                y -= 17
            pdf.drawRightString(width - 60, 40, f"{number + 1} / {len(pages)}")
            pdf.showPage()
        counts.append(len(pages))
    pdf.save()
    return out.getvalue(), counts


def check_letter(letter: Letter) -> None:
    """Raises DmError naming the field if the letter cannot go into a batch: a field
    that does not fit its record, or a character the font cannot print (the Korean CID
    font covers what CP949 covers; anything else would print as a blank)."""
    _record("D", _data_values(1, letter, 1, 1))
    try:
        letter.text.encode(ENCODING)
    except UnicodeEncodeError as exc:
        char = letter.text[exc.start]
        raise DmError(f"text: U+{ord(char):04X} cannot be printed (outside CP949)") from None


def build_batch(batch_id: str, sender: str, letters: Sequence[Letter], now: datetime) -> DmBatch:
    """The batch file and PDF of these letters; raises DmError naming the first bad field."""
    if not letters:
        raise DmError("letters: a batch needs at least one letter")
    for letter in letters:
        # Fail before rendering.
        check_letter(letter)
    pdf, counts = _pdf(letters)
    head = _record(
        "H", {"batch_id": batch_id, "created": now.strftime("%Y%m%d%H%M%S"), "sender": sender}
    )
    body, page = b"", 1
    for seq, (letter, count) in enumerate(zip(letters, counts, strict=True), start=1):
        body += _record("D", _data_values(seq, letter, page, count))
        page += count
    total = page - 1
    tail = _record("T", {"records": str(len(letters)), "total_pages": str(total)})
    return DmBatch(batch_id, head + body + tail, pdf, total)


def _data_values(seq: int, letter: Letter, first: int, pages: int) -> dict[str, str]:
    return {
        "seq": str(seq),
        "key": letter.key,
        "name": letter.name,
        "postcode": letter.postcode,
        "address": letter.address,
        "address_detail": letter.address_detail,
        "first_page": str(first),
        "pages": str(pages),
    }


def parse_batch(data: bytes) -> list[tuple[str, dict[str, str]]]:
    """The file's records as (type, fields); raises DmError naming the record and field."""
    records: list[tuple[str, dict[str, str]]] = []
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if len(line) != RECORD_BYTES:
            raise DmError(f"record {number}: {len(line)} bytes, every record is {RECORD_BYTES}")
        kind = line[:1].decode("ascii", "replace")
        if kind not in FIELDS:
            raise DmError(f"record {number}: unknown record type {kind!r}")
        values: dict[str, str] = {}
        at = 1
        for name, width, numeric in FIELDS[kind]:
            raw = line[at : at + width]
            at += width
            try:
                value = raw.decode(ENCODING).rstrip(" ")
            except UnicodeDecodeError:
                raise DmError(f"record {number}: {name} is not CP949") from None
            if numeric and not value.isdigit():
                raise DmError(f"record {number}: {name} {value!r} is not a number")
            values[name] = str(int(value)) if numeric else value
        records.append((kind, values))
    return records
