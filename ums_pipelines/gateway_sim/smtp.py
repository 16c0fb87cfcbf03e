"""The simulated mail system: an aiosmtpd handler that books each message in the ledger."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP, Envelope, Session

from ums_pipelines.gateway_sim import codes, rules
from ums_pipelines.gateway_sim.config import SimConfig
from ums_pipelines.gateway_sim.ledger import Ledger
from ums_pipelines.gateway_sim.mime import MAX_ATTACHMENT_BYTES, mime_policy, mime_structure
from ums_pipelines.gateway_sim.records import NewMessage

__all__ = ["IDEMPOTENCY_HEADER", "LedgerSmtpHandler"]

IDEMPOTENCY_HEADER = "X-UMS-Idempotency-Key"

log = logging.getLogger(__name__)


class LedgerSmtpHandler:
    """aiosmtpd handler: one message, one recipient, one ledger row.

    Mail is accepted and a bounce shows up later as a failed receipt (code 550), which
    is how a real relay behaves: the 5xx comes from the receiving domain, not at DATA.
    """

    def __init__(
        self, config: SimConfig, ledger: Ledger, max_attachment_bytes: int = MAX_ATTACHMENT_BYTES
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.max_attachment_bytes = max_attachment_bytes

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        # The ledger keys rows by idempotency key, so a message must have exactly one
        # recipient; UMS sends one message per customer anyway.
        if envelope.rcpt_tos:
            too_many = codes.SMTP_TOO_MANY_RECIPIENTS
            return f"{too_many} 4.5.3 Too many recipients: send one message per recipient"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
        # Wire line endings are CRLF; store the text as the sender wrote it.
        message = BytesParser(policy=policy.default).parsebytes(raw.replace(b"\r\n", b"\n"))
        assert isinstance(message, EmailMessage)  # guaranteed by policy.default
        structure = mime_structure(message)
        refusal = mime_policy(structure, self.max_attachment_bytes)
        if refusal is not None:
            # Refused at DATA, as a receiving system's content filter does: nothing booked.
            return refusal
        key = _idempotency_key(message)
        recipient = envelope.rcpt_tos[0]
        outcome = rules.email_outcome(self.config, recipient)
        subject = message.get("Subject")
        record = NewMessage(
            client_key=key,
            message_id=rules.message_id(self.config.seed, "email", key),
            channel="email",
            type="EMAIL",
            sender=str(envelope.mail_from or ""),
            recipient=recipient,
            subject=None if subject is None else str(subject),
            body=_text_of(message),
            outcome="delivered" if outcome.delivered else "failed",
            code=outcome.code,
            reason=outcome.reason,
            wire=json.dumps(structure, ensure_ascii=False),
        )
        (result,) = await asyncio.to_thread(self.ledger.accept, self.config, [record])
        log.debug("email %s", "duplicate" if result.duplicate else "accepted")
        # A duplicate is answered like the original so a retrying client stops retrying.
        return f"250 2.0.0 Ok: queued as {result.message_id}"


def _idempotency_key(message: EmailMessage) -> str:
    for header in (IDEMPOTENCY_HEADER, "Message-ID"):
        value = message.get(header)
        if value is not None and str(value).strip():
            return str(value).strip()
    # A real mail system takes mail without either header; such mail just cannot be
    # recognised when it is sent again.
    return f"smtp-{uuid.uuid4().hex}"


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, ValueError):
        # An unknown charset is the sender's bug, not a reason to lose the message.
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
