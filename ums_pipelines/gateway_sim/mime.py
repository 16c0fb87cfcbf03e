"""What the simulated mail system sees of a message: its MIME tree, and its policy.

The structure (content types, which parts are attachments, their names and decoded
sizes) is what the ledger keeps as the message's wire format; the policy is a
receiving system's: executable attachments are refused, and so is a message whose
attachments exceed the size limit, with the SMTP reply a real system gives.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import PurePath
from typing import Any

__all__ = [
    "BLOCKED_EXTENSIONS",
    "MAX_ATTACHMENT_BYTES",
    "REPLY_BLOCKED",
    "REPLY_TOO_BIG",
    "mime_policy",
    "mime_structure",
]

MAX_ATTACHMENT_BYTES = 30 * 1024 * 1024
# Extensions mail providers refuse outright (executables and scripts).
BLOCKED_EXTENSIONS = frozenset(
    {
        ".ade",
        ".adp",
        ".apk",
        ".bat",
        ".chm",
        ".cmd",
        ".com",
        ".cpl",
        ".dll",
        ".dmg",
        ".exe",
        ".hta",
        ".ins",
        ".isp",
        ".jar",
        ".js",
        ".jse",
        ".lib",
        ".lnk",
        ".mde",
        ".msc",
        ".msi",
        ".msp",
        ".mst",
        ".nsh",
        ".pif",
        ".ps1",
        ".scr",
        ".sct",
        ".shb",
        ".sys",
        ".vb",
        ".vbe",
        ".vbs",
        ".vxd",
        ".wsc",
        ".wsf",
        ".wsh",
    }
)
REPLY_BLOCKED = "554 5.7.1 Message rejected: attachment type {ext} is blocked for security"
REPLY_TOO_BIG = (
    "552 5.3.4 Message size exceeds fixed limit: attachments {size} bytes, limit {limit}"
)


def _part(part: EmailMessage) -> dict[str, Any]:
    payload = part.get_payload(decode=True)
    entry: dict[str, Any] = {
        "content_type": part.get_content_type(),
        "size": len(payload) if isinstance(payload, bytes) else 0,
    }
    charset = part.get_content_charset()
    if charset:
        entry["charset"] = charset
    disposition = part.get_content_disposition()
    if disposition:
        entry["disposition"] = disposition
    filename = part.get_filename()
    if filename:
        entry["filename"] = filename
    return entry


def mime_structure(message: EmailMessage) -> dict[str, Any]:
    """The message's MIME tree, flattened to its leaves, and its attachments."""
    leaves = [_part(p) for p in message.walk() if not p.is_multipart()]
    containers = [p.get_content_type() for p in message.walk() if p.is_multipart()]
    attachments = [
        {"filename": p.get("filename", ""), "content_type": p["content_type"], "size": p["size"]}
        for p in leaves
        if p.get("disposition") == "attachment"
    ]
    return {
        "content_type": message.get_content_type(),
        "subject": str(message.get("Subject", "")),
        "multiparts": containers,
        "parts": leaves,
        "has_text": any(p["content_type"] == "text/plain" for p in leaves),
        "has_html": any(p["content_type"] == "text/html" for p in leaves),
        "attachments": attachments,
    }


def mime_policy(structure: dict[str, Any], max_bytes: int = MAX_ATTACHMENT_BYTES) -> str | None:
    """The SMTP reply refusing the message, or None to accept it."""
    for attachment in structure["attachments"]:
        ext = PurePath(attachment["filename"]).suffix.lower()
        if ext in BLOCKED_EXTENSIONS:
            return REPLY_BLOCKED.format(ext=ext)
    size = sum(a["size"] for a in structure["attachments"])
    if size > max_bytes:
        return REPLY_TOO_BIG.format(size=size, limit=max_bytes)
    return None
