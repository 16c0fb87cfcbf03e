"""Scanning text, files and template content for PII: all recognisers, one finding per span."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ums_pipelines.compliance.pii.contact import find_emails, find_phones
from ums_pipelines.compliance.pii.extract import extract_text
from ums_pipelines.compliance.pii.financial import find_accounts, find_cards
from ums_pipelines.compliance.pii.findings import Finding, resolve_overlaps
from ums_pipelines.compliance.pii.identity import (
    find_brn,
    find_driver_licenses,
    find_passports,
    find_registration_numbers,
)

__all__ = ["FieldFinding", "iter_files", "scan_content", "scan_file", "scan_text"]

RECOGNISERS: tuple[Callable[[str], list[Finding]], ...] = (
    find_emails,
    find_registration_numbers,
    find_cards,
    find_brn,
    find_driver_licenses,
    find_passports,
    find_accounts,
    find_phones,
)


@dataclass(frozen=True)
class FieldFinding:
    """A finding in one named field of a content item (``variants[sms].body``)."""

    field: str
    finding: Finding

    def as_dict(self) -> dict[str, str | int]:
        """The masked, JSON-ready form: field, type, offsets and the masked value."""
        return {
            "field": self.field,
            "type": self.finding.type,
            "start": self.finding.start,
            "end": self.finding.end,
            "masked": self.finding.masked,
        }


def scan_text(text: str) -> list[Finding]:
    """Every PII finding in ``text``, ordered by position, overlaps resolved by priority."""
    candidates: list[Finding] = []
    for recognise in RECOGNISERS:
        candidates.extend(recognise(text))
    return resolve_overlaps(candidates)


def scan_file(path: Path) -> list[Finding]:
    """Findings in a file's extracted text (see ``extract_text``); offsets index that text.

    Raises ``UnreadableFileError`` naming the file when its text cannot be extracted.
    """
    return scan_text(extract_text(path))


def scan_content(fields: Mapping[str, str]) -> list[FieldFinding]:
    """Findings in each named text field of a template or content item, e.g.
    ``{"variants[sms].body": "...", "variants[email].subject": "..."}``.

    Template tags (``{{ name }}``) carry no value and are not findings; a literal value
    written into a tag's default is.
    """
    return [
        FieldFinding(name, finding) for name, text in fields.items() for finding in scan_text(text)
    ]


def iter_files(paths: Iterable[Path]) -> list[Path]:
    """The files to scan: each file given, and every file under each directory given
    (hidden entries such as ``.git`` skipped), in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    child
                    for child in path.rglob("*")
                    if child.is_file()
                    and not any(part.startswith(".") for part in child.relative_to(path).parts)
                )
            )
        else:
            files.append(path)
    return files
