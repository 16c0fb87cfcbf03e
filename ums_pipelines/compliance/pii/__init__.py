"""PII detection in templates, content variants and attachments (Korean identity numbers,
cards, accounts, phone numbers, e-mail addresses); findings are masked in every output."""

from ums_pipelines.compliance.pii.extract import UnreadableFileError, extract_text
from ums_pipelines.compliance.pii.findings import PII_TYPES, Finding, PiiType
from ums_pipelines.compliance.pii.masks import mask_value
from ums_pipelines.compliance.pii.scan import (
    FieldFinding,
    iter_files,
    scan_content,
    scan_file,
    scan_text,
)

__all__ = [
    "PII_TYPES",
    "FieldFinding",
    "Finding",
    "PiiType",
    "UnreadableFileError",
    "extract_text",
    "iter_files",
    "mask_value",
    "scan_content",
    "scan_file",
    "scan_text",
]
