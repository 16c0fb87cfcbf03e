"""E-mail (attachment size, executables by name, type and first bytes) and DM letters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from ums_pipelines.channels.checks.common import Found, check_ad, check_characters
from ums_pipelines.channels.checks.result import Code, n
from ums_pipelines.channels.limits import ChannelLimits
from ums_pipelines.channels.payload import Payload

__all__ = ["BLOCKED_TYPES", "MAGIC", "check_dm", "check_email", "executable_reason"]

# First bytes of programs, whatever the file is called.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows program (MZ header)"),
    (b"\x7fELF", "a Linux program (ELF header)"),
    (b"#!", "a script (#! line)"),
    (b"\xfe\xed\xfa\xce", "a macOS program (Mach-O header)"),
    (b"\xfe\xed\xfa\xcf", "a macOS program (Mach-O header)"),
    (b"\xce\xfa\xed\xfe", "a macOS program (Mach-O header)"),
    (b"\xcf\xfa\xed\xfe", "a macOS program (Mach-O header)"),
    (b"\xca\xfe\xba\xbe", "a Java class or macOS universal program"),
)
BLOCKED_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-executable",
        "application/x-elf",
        "application/x-sh",
        "application/x-csh",
        "application/x-bat",
        "application/x-msi",
        "application/x-ms-installer",
        "application/java-archive",
        "application/javascript",
        "text/javascript",
        "application/vnd.microsoft.portable-executable",
        "application/hta",
    }
)
HEAD_BYTES = 8


def executable_reason(
    filename: str, content_type: str, head: bytes | None, blocked_extensions: tuple[str, ...]
) -> str | None:
    """Why an attachment is a program and must not be mailed, or None."""
    suffixes = [s.lower().lstrip(".") for s in PurePath(filename.strip().rstrip(".")).suffixes]
    if suffixes and suffixes[-1] in blocked_extensions:
        return f".{suffixes[-1]} files are blocked (executable)"
    if content_type.lower() in BLOCKED_TYPES:
        return f"{content_type} is blocked (executable)"
    if head is not None:
        for magic, what in MAGIC:
            if head.startswith(magic):
                return f"its content is {what}, blocked whatever its name"
    return None


def check_email(
    found: Found,
    text: str,
    *,
    subject: str | None,
    purpose: str | None,
    payload: Payload,
    read_content: Callable[[str], bytes] | None,
    limits: ChannelLimits,
) -> str:
    mail = limits.email
    for field_name, value in [("text", text), ("subject", subject or "")]:
        check_characters(found, "email", field_name, value, limits.emoji_max_version)
    total = sum(a.size_bytes for a in payload.attachments)
    if total > mail.attachments_max_bytes:
        found.add(
            Code.ATTACHMENTS_TOO_LARGE,
            f"attachments: {n(total)} bytes in all, an e-mail takes"
            f" {n(mail.attachments_max_bytes)} at most",
        )
    for i, attachment in enumerate(payload.attachments):
        head = None
        if read_content is not None:
            try:
                head = read_content(attachment.ref)[:HEAD_BYTES]
            except (ValueError, OSError):
                found.add(
                    Code.ATTACHMENT_UNREADABLE,
                    f"attachments[{i}]: its stored content cannot be read",
                )
        reason = executable_reason(
            attachment.filename, attachment.content_type, head, mail.blocked_extensions
        )
        if reason is not None:
            found.add(Code.ATTACHMENT_BLOCKED, f"attachments[{i}]: {reason}")
    if purpose == "ad":
        # An advertising e-mail carries its label in the subject line.
        check_ad(found, "subject", subject or "", limits.ad, optout=False)
    return "EMAIL"


def check_dm(found: Found, text: str, *, payload: Payload | None, limits: ChannelLimits) -> str:
    """A paper letter: printable text and an envelope the post office accepts. Without a
    payload only the text is checked (a template, before any recipient is known)."""
    check_characters(found, "dm", "text", text, limits.emoji_max_version)
    if payload is None:
        return "DM"
    letter = payload.dm
    if letter is None:
        found.add(Code.DM_ENVELOPE_MISSING, "dm: a letter needs a postcode and an address")
        return "DM"
    digits = limits.dm.postcode_digits
    postcode = letter.postcode.strip()
    if not (postcode.isascii() and postcode.isdigit()):
        found.add(Code.DM_POSTCODE, f"dm.postcode: digits only, a postcode has {digits}")
    elif len(postcode) != digits:
        found.add(Code.DM_POSTCODE, f"dm.postcode: {len(postcode)} digits, a postcode has {digits}")
    if not letter.address.strip():
        found.add(Code.DM_ADDRESS, "dm.address: empty; a letter needs the street address")
    return "DM"
