"""The mail gateway over real SMTP on loopback (smtplib and aiosmtplib)."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import asdict
from email.message import EmailMessage

import aiosmtplib
import pytest

from ums_pipelines.gateway_sim import GatewaySimulator


def mail(to: str, key: str | None, message_id: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "notice@bank.example"
    message["To"] = to
    message["Subject"] = "입출금 안내"
    if key is not None:
        message["X-UMS-Idempotency-Key"] = key
    if message_id is not None:
        message["Message-ID"] = message_id
    message.set_content("고객님, 입금되었습니다.\n감사합니다.")
    return message


def send(sim: GatewaySimulator, message: EmailMessage) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", sim.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
        return smtp.noop()


def rows(sim: GatewaySimulator, prefix: str) -> list[dict[str, object]]:
    return [asdict(m) for m in sim.ledger.messages("email", key_prefix=prefix)]


def test_mail_is_recorded_with_decoded_subject_and_text(sim: GatewaySimulator, prefix: str) -> None:
    send(sim, mail("kim@customer.example", f"{prefix}1"))
    (row,) = rows(sim, prefix)
    assert row["type"] == "EMAIL"
    assert row["channel"] == "email"
    assert row["sender"] == "notice@bank.example"
    assert row["recipient"] == "kim@customer.example"
    assert row["subject"] == "입출금 안내"
    assert row["body"] == "고객님, 입금되었습니다.\n감사합니다.\n"
    assert row["outcome"] == "delivered"


def test_a_repeated_key_is_accepted_but_recorded_once(sim: GatewaySimulator, prefix: str) -> None:
    send(sim, mail("kim@customer.example", f"{prefix}1"))
    # The retry must get a 250 (send_message raises otherwise) and change nothing.
    send(sim, mail("kim@customer.example", f"{prefix}1"))
    assert len(rows(sim, prefix)) == 1
    assert sim.ledger.summary(prefix)["email"]["duplicates_ignored"] == 1


def test_message_id_is_the_fallback_key(sim: GatewaySimulator, prefix: str) -> None:
    message_id = f"<{prefix}abc@bank.example>"
    send(sim, mail("kim@customer.example", None, message_id))
    send(sim, mail("kim@customer.example", None, message_id))
    (row,) = [asdict(m) for m in sim.ledger.messages("email") if m.client_key == message_id]
    assert row["recipient"] == "kim@customer.example"


def test_the_reply_names_the_same_message_id_for_a_duplicate(
    sim: GatewaySimulator, prefix: str
) -> None:
    replies = []
    for _ in range(2):
        with smtplib.SMTP("127.0.0.1", sim.smtp_port, timeout=10) as smtp:
            smtp.ehlo()
            smtp.mail("notice@bank.example")
            smtp.rcpt("kim@customer.example")
            replies.append(smtp.data(mail("kim@customer.example", f"{prefix}1").as_bytes()))
    assert replies[0] == replies[1]
    assert replies[0][0] == 250
    assert str(rows(sim, prefix)[0]["message_id"]) in replies[0][1].decode()


def test_bounce_domain_fails_with_550(sim: GatewaySimulator, prefix: str) -> None:
    send(sim, mail("lee@bounce.example", f"{prefix}b"))
    (row,) = rows(sim, prefix)
    assert (row["outcome"], row["code"]) == ("failed", "550")
    receipts, _ = sim.ledger.receipts("email", 0, 5000)
    (receipt,) = [r for r in receipts if r.client_key == f"{prefix}b"]
    assert (receipt.status, receipt.code) == ("failed", "550")


def test_one_recipient_per_message(sim: GatewaySimulator, prefix: str) -> None:
    message = mail("kim@customer.example", f"{prefix}m")
    with smtplib.SMTP("127.0.0.1", sim.smtp_port, timeout=10) as smtp:
        refused = smtp.sendmail(
            "notice@bank.example",
            ["kim@customer.example", "park@customer.example"],
            message.as_bytes(),
        )
    assert refused["park@customer.example"][0] == 452
    assert [r["recipient"] for r in rows(sim, prefix)] == ["kim@customer.example"]


def test_aiosmtplib_client(sim: GatewaySimulator, prefix: str) -> None:
    async def deliver() -> None:
        for _ in range(2):
            await aiosmtplib.send(
                mail("choi@customer.example", f"{prefix}async"),
                hostname="127.0.0.1",
                port=sim.smtp_port,
                timeout=10,
            )

    asyncio.run(deliver())
    assert len(rows(sim, prefix)) == 1


def test_addresses_never_reach_the_log(
    sim: GatewaySimulator, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    send(sim, mail("secret.customer@customer.example", f"{prefix}log"))
    assert "secret.customer" not in caplog.text


def test_many_messages_on_one_connection(sim: GatewaySimulator, prefix: str) -> None:
    # The UMS mail adapter keeps one connection open for a whole batch.
    with smtplib.SMTP("127.0.0.1", sim.smtp_port, timeout=10) as smtp:
        for n in range(5):
            smtp.send_message(mail(f"c{n}@customer.example", f"{prefix}{n}"))
    assert [r["recipient"] for r in rows(sim, prefix)] == [
        f"c{n}@customer.example" for n in range(5)
    ]
