"""The mail system records each message's MIME structure and refuses what a real one
refuses: executable attachments and attachments over the size limit."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig
from ums_pipelines.gateway_sim.ledger import Ledger
from ums_pipelines.gateway_sim.mime import mime_policy, mime_structure
from ums_pipelines.gateway_sim.server import _BoundController, _listen
from ums_pipelines.gateway_sim.smtp import LedgerSmtpHandler


def mail(key: str, attachments: dict[str, bytes]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "notice@bank.example"
    message["To"] = "kim@example.com"
    message["Subject"] = "거래내역 안내"
    message["X-UMS-Idempotency-Key"] = key
    message.set_content("거래내역서를 첨부합니다.")
    message.add_alternative("<p>거래내역서를 <b>첨부</b>합니다.</p>", subtype="html")
    for name, data in attachments.items():
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message


def test_structure_lists_alternatives_and_attachments(sim: GatewaySimulator, prefix: str) -> None:
    with smtplib.SMTP("127.0.0.1", sim.smtp_port, timeout=10) as smtp:
        smtp.send_message(mail(f"{prefix}1", {"내역서.pdf": b"%PDF" + b"x" * 996}))
    wire = json.loads(sim.ledger.wire(f"{prefix}1") or "")
    assert wire["content_type"] == "multipart/mixed"
    assert wire["multiparts"] == ["multipart/mixed", "multipart/alternative"]
    assert (wire["has_text"], wire["has_html"]) == (True, True)
    assert wire["attachments"] == [
        {"filename": "내역서.pdf", "content_type": "application/octet-stream", "size": 1000}
    ]
    assert wire["subject"] == "거래내역 안내"


@pytest.mark.parametrize(
    ("name", "reply"),
    [
        ("setup.exe", "554 5.7.1"),
        ("run.JS", "554 5.7.1"),
        ("statement.pdf", None),
        ("statement.pdf.scr", "554 5.7.1"),
    ],
)
def test_executables_are_blocked(name: str, reply: str | None) -> None:
    refusal = mime_policy(mime_structure(mail("k", {name: b"MZ"})))
    assert (refusal or "")[:9] == (reply or "")


@pytest.mark.parametrize(("size", "refused"), [(1000, False), (1001, True)])
def test_attachment_size_limit(size: int, refused: bool) -> None:
    structure = mime_structure(mail("k", {"a.pdf": b"a" * 600, "b.pdf": b"b" * (size - 600)}))
    refusal = mime_policy(structure, max_bytes=1000)
    assert (refusal is not None) == refused
    if refusal:
        assert refusal.startswith("552 5.3.4")


@pytest.fixture
def small_smtp() -> Iterator[tuple[int, Ledger]]:
    ledger = Ledger()
    handler = LedgerSmtpHandler(SimConfig(latency_ms=(0, 0)), ledger, max_attachment_bytes=1000)
    sock = _listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    controller = _BoundController(handler, sock, hostname="127.0.0.1", server_hostname="t.local")
    controller.start()
    yield port, ledger
    controller.stop(no_assert=True)
    ledger.close()


@pytest.mark.parametrize(
    ("attachments", "code"),
    [({"x.exe": b"MZ"}, 554), ({"big.pdf": b"z" * 1001}, 552)],
)
def test_refused_at_data_with_an_smtp_code_and_not_booked(
    small_smtp: tuple[int, Ledger], attachments: dict[str, bytes], code: int
) -> None:
    port, ledger = small_smtp
    with (
        smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        smtp.send_message(mail("refused-1", attachments))
    assert refused.value.smtp_code == code
    assert ledger.messages("email") == []
