"""Mail a rendered period report over SMTP: the HTML page as the body, the PDF attached."""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from reports.period_pdf import KIND_KO
from reports.period_render import RenderedReport
from ums_pipelines.settings import Settings

__all__ = ["build_report_mail", "mail_report"]

log = logging.getLogger(__name__)


def build_report_mail(settings: Settings, rendered: RenderedReport) -> EmailMessage:
    """The report mail to every configured recipient (one message, many RCPT TO)."""
    checks = [("report_sender", settings.report_sender)]
    checks += [("report_recipients", r) for r in settings.report_recipients]
    for field, value in checks:
        if "@" not in value or any(c in value for c in "\r\n<>, "):
            raise ValueError(f"{field}: {value!r} is not a plain e-mail address")
    period = rendered.report.period
    msg = EmailMessage()
    msg["Subject"] = f"[UMS] {KIND_KO[period.kind]} 발송 리포트 {period.label}"
    msg["From"] = settings.report_sender
    msg["To"] = ", ".join(settings.report_recipients)
    msg["Message-ID"] = make_msgid(domain="ums.local")
    msg.set_content(
        f"UMS {period.kind} report {period.label}: open the HTML part or the attached PDF."
    )
    msg.add_alternative(rendered.html.read_text(encoding="utf-8"), subtype="html")
    msg.add_attachment(
        rendered.pdf.read_bytes(),
        maintype="application",
        subtype="pdf",
        filename=f"ums-{period.kind}-{period.start.isoformat()}.pdf",
    )
    return msg


def mail_report(settings: Settings, rendered: RenderedReport, *, timeout: float = 30.0) -> int:
    """Send the report to ``report_recipients``; returns how many were addressed (0: none set)."""
    if not settings.report_recipients:
        return 0
    msg = build_report_mail(settings, rendered)
    asyncio.run(
        aiosmtplib.send(msg, hostname=settings.smtp_host, port=settings.smtp_port, timeout=timeout)
    )
    log.info(
        "mailed %s report %s to %d recipients",
        rendered.report.period.kind,
        rendered.report.period.start,
        len(settings.report_recipients),
    )
    return len(settings.report_recipients)
