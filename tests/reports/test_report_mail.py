"""mail_report over SMTP: the HTML page as body and the PDF attached, to every recipient."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from reports.demo_month import write_demo_parquet
from reports.mail import mail_report
from reports.period_render import RenderedReport, render_period_report
from ums_pipelines.analytics import run_all
from ums_pipelines.settings import Settings

RECIPIENTS = ["ops@bank.example", "risk@bank.example"]


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def rendered(tmp_path: Path) -> tuple[Settings, RenderedReport]:
    settings = Settings(home=tmp_path / "home")
    write_demo_parquet(settings, date(2026, 3, 2), date(2026, 3, 9), 20)
    run_all(settings)
    return settings, render_period_report(settings, "weekly", date(2026, 3, 2))


def test_the_report_arrives_with_html_and_the_pdf(
    inbox: tuple[Inbox, int], rendered: tuple[Settings, RenderedReport]
) -> None:
    handler, port = inbox
    base, out = rendered
    settings = base.model_copy(
        update={
            "smtp_port": port,
            "report_recipients": RECIPIENTS,
            "report_sender": "ums@bank.example",
        }
    )
    assert mail_report(settings, out) == 2

    [envelope] = handler.envelopes
    assert sorted(envelope.rcpt_tos) == RECIPIENTS
    assert envelope.mail_from == "ums@bank.example"
    assert isinstance(envelope.content, bytes)
    msg = message_from_bytes(envelope.content, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert "주간" in str(msg["Subject"]) and "2026-W10" in str(msg["Subject"])
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and 'id="channel-chart"' in html.get_content()
    [pdf] = list(msg.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == "ums-weekly-2026-03-02.pdf"
    assert pdf.get_content() == out.pdf.read_bytes()


def test_no_recipients_sends_nothing(rendered: tuple[Settings, RenderedReport]) -> None:
    settings, out = rendered
    assert mail_report(settings.model_copy(update={"smtp_port": 1}), out) == 0


def test_a_bad_recipient_names_the_setting(rendered: tuple[Settings, RenderedReport]) -> None:
    settings, out = rendered
    bad = settings.model_copy(update={"report_recipients": ["ops@bank.example\r\nBcc: x@y"]})
    with pytest.raises(ValueError, match="report_recipients"):
        mail_report(bad, out)
