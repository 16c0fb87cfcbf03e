"""The e-mail's MIME tree: mixed around alternative (text, HTML) and attachments."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image as PilImage

from ums_pipelines.channels.content import ContentError, ContentStore
from ums_pipelines.channels.email_mime import IDEMPOTENCY_HEADER, build_mime
from ums_pipelines.channels.payload import Attachment, Payload
from ums_pipelines.dispatch.claims import Claimed


def claimed(payload: Payload | None = None, html: str | None = "<p>본문</p>") -> Claimed:
    return Claimed(
        id=1,
        idempotency_key="job-1.k",
        channel="email",
        message_type="EMAIL",
        recipient="kim@example.com",
        sender=None,
        provider_template_code=None,
        subject="[UMS은행] 안내",
        body="본문",
        html_body=html,
        attempts=1,
        payload=payload.to_json() if payload is not None else None,
    )


def test_attachments_make_a_mixed_message_around_the_alternative(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    pdf = store.put_attachment(b"%PDF-1.4 x", "내역서.pdf")
    csv = store.put_attachment("일자,금액\n".encode(), "거래.csv", "text/csv")
    mime = build_mime(claimed(Payload(attachments=[pdf, csv])), "noreply@bank.example", store)
    assert mime.get_content_type() == "multipart/mixed"
    assert mime[IDEMPOTENCY_HEADER] == "job-1.k"
    parts = [p.get_content_type() for p in mime.walk()]
    assert parts == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/pdf",
        "text/csv",
    ]
    files = [(p.get_filename(), p.get_payload(decode=True)) for p in mime.iter_attachments()]
    assert files == [("내역서.pdf", b"%PDF-1.4 x"), ("거래.csv", "일자,금액\n".encode())]


@pytest.mark.parametrize(
    ("html", "kind"), [("<p>x</p>", "multipart/alternative"), (None, "text/plain")]
)
def test_without_attachments_no_mixed_part(html: str | None, kind: str) -> None:
    assert build_mime(claimed(html=html), "n@bank.example", None).get_content_type() == kind


def test_a_missing_attachment_is_an_error_naming_the_ref(tmp_path: Path) -> None:
    lost = Attachment(
        ref="0" * 64 + ".pdf", filename="a.pdf", content_type="application/pdf", size_bytes=1
    )
    with pytest.raises(ContentError, match="ref: no stored content"):
        build_mime(claimed(Payload(attachments=[lost])), "n@bank.example", ContentStore(tmp_path))
    with pytest.raises(ValueError, match=r"payload\.attachments"):
        build_mime(claimed(Payload(attachments=[lost])), "n@bank.example", None)


def test_images_go_inline(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    out = io.BytesIO()
    PilImage.new("RGB", (40, 20)).save(out, format="PNG")
    image = store.put_image(out.getvalue())
    mime = build_mime(claimed(Payload(images=[image])), "n@bank.example", store)
    (part,) = [p for p in mime.walk() if p.get_content_maintype() == "image"]
    assert (part.get_content_type(), part.get_content_disposition()) == ("image/png", "inline")
    assert part.get_payload(decode=True) == out.getvalue()
