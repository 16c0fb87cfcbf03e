"""The e-mail a customer receives: MIME multipart/mixed around a multipart/alternative
(plain text, then HTML) and the attachments, read from the content store."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.payload import Payload
from ums_pipelines.dispatch.claims import Claimed

__all__ = ["IDEMPOTENCY_HEADER", "build_mime"]

IDEMPOTENCY_HEADER = "X-UMS-Idempotency-Key"


def build_mime(m: Claimed, sender: str, content: ContentStore | None) -> EmailMessage:
    """Raises ``ContentError`` (naming the ref) when an attachment cannot be read."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = m.recipient
    msg["Subject"] = m.subject or ""
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.split("@")[-1])
    msg[IDEMPOTENCY_HEADER] = m.idempotency_key
    msg.set_content(m.body)
    if m.html_body:
        msg.add_alternative(m.html_body, subtype="html")
    parts = Payload.from_json(m.payload)
    if parts.list_unsubscribe:
        from ums_pipelines.customers.unsubscribe import list_unsubscribe_headers

        for header, value in list_unsubscribe_headers(parts.list_unsubscribe).items():
            msg[header] = value
    attachments, images = parts.attachments, parts.images
    if (attachments or images) and content is None:
        raise ValueError("payload.attachments: no content store to read them from")
    for image in images:
        assert content is not None
        # Shown in the message body by mail clients, not offered as a file to save.
        msg.add_attachment(
            content.get(image.ref),
            maintype="image",
            subtype=image.content_type.partition("/")[2] or "jpeg",
            filename=image.ref,
            disposition="inline",
        )
    for attachment in attachments:
        assert content is not None
        data = content.get(attachment.ref)
        maintype, _, subtype = attachment.content_type.partition("/")
        # The first attachment turns the text (or the alternative) into multipart/mixed.
        msg.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return msg
