"""Plain text out of the files a template or job may carry: text, CSV, HTML, PDF, XLSX.

Offsets of findings point into the text these functions return. Text and CSV are
returned as decoded (UTF-8 with or without BOM, else CP949, which Korean Excel writes);
HTML as its visible text; PDF page by page; XLSX sheet by sheet, a row per line with
tab-separated cells. A file that cannot be read raises :class:`UnreadableFileError`
naming it: a file we cannot read is a file we cannot clear.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["UnreadableFileError", "extract_text"]

# Only what a reader never sees; a <head> left open by sloppy markup must not hide the body.
_HIDDEN_TAGS = frozenset({"script", "style", "template"})
_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    ]
)


class UnreadableFileError(Exception):
    """A file whose text could not be extracted; the message names the file and why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def extract_text(path: Path) -> str:
    """The text of ``path`` by its suffix; unknown suffixes are read as text."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(path, exc.strerror or type(exc).__name__) from exc
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _pdf_text(path, data)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_text(path, data)
    text = _decode(path, data)
    if suffix in (".html", ".htm", ".xhtml"):
        return html_text(text)
    return text


def _decode(path: Path, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableFileError(path, "binary content (NUL bytes), not a text file")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFileError(path, "neither UTF-8 nor CP949 text")


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_text(markup: str) -> str:
    """The visible text of an HTML document: scripts and styles dropped, block
    elements on their own lines."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _pdf_text(path: Path, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFileError(path, "encrypted PDF")
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except UnreadableFileError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableFileError(path, f"not a readable PDF ({type(exc).__name__})") from exc


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    # Excel stores long numbers as floats; 9001011234567.0 must read as the digits.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _xlsx_text(path: Path, data: bytes) -> str:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableFileError(path, f"not a readable XLSX ({type(exc).__name__})") from exc
    try:
        sheets = []
        for sheet in workbook.worksheets:
            rows = (
                "\t".join(_cell_text(v) for v in row) for row in sheet.iter_rows(values_only=True)
            )
            sheets.append("\n".join(row.rstrip("\t") for row in rows))
        return "\n\n".join(sheets)
    finally:
        workbook.close()
