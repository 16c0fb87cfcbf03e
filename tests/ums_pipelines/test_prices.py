"""Prices per provider and message type: configured, stored when a provider accepts a
message, and billed at the stored price."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ums_pipelines.billing import DEFAULT_PRICES_KRW, bill, price_of, price_table
from ums_pipelines.dispatch.claims import claim_rows
from ums_pipelines.dispatch.record import SendOutcome, record_results
from ums_pipelines.settings import Settings
from ums_pipelines.store.models import Message

TYPES = (
    *("SMS", "LMS", "MMS", "INTL_SMS", "RCS_SMS", "RCS_LMS", "RCS_MMS", "RCS_TEMPLATE"),
    *("ALIMTALK", "FRIENDTALK_TEXT", "FRIENDTALK_IMAGE", "FRIENDTALK_WIDE", "BRAND"),
    *("FCM", "APNS", "EMAIL", "DM"),
)


@pytest.mark.parametrize("kind", TYPES)
def test_every_message_type_has_a_default_price(kind: str, tmp_path: Path) -> None:
    assert price_table(Settings(home=tmp_path))["*"][kind] == DEFAULT_PRICES_KRW[kind] >= 0


def test_a_prices_file_overrides_per_provider(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"sim-sms": {"SMS": 8.8}, "*": {"LMS": "27"}}))
    table = price_table(Settings(home=tmp_path, prices_file=path))
    assert table["sim-sms"]["SMS"] == Decimal("8.8")
    assert table["*"]["LMS"] == Decimal("27") and table["*"]["SMS"] == Decimal("9.9")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1]", "must be a JSON object of providers"),
        ('{"sim-sms": 3}', "sim-sms: must be an object"),
        ('{"sim-sms": {"SMS": "cheap"}}', "sim-sms.SMS: 'cheap' is not a number"),
        ('{"sim-sms": {"SMS": -1}}', "sim-sms.SMS: must be 0 or more"),
        ("{nope", "cannot read"),
    ],
)
def test_bad_price_files_name_the_entry(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=f"prices_file: .*{message}"):
        price_table(Settings(home=tmp_path, prices_file=path))


def add(bank: Any, job_id: str, rows: list[tuple[str, str, str]]) -> None:
    now = datetime.now(UTC) - timedelta(seconds=1)
    with bank.store.session() as session:
        for i, (channel, kind, provider) in enumerate(rows):
            session.add(
                Message(
                    idempotency_key=f"{job_id}.{i}",
                    job_id=job_id,
                    customer_id=f"C{i}",
                    channel=channel,
                    message_type=kind,
                    provider=provider,
                    chain=[channel],
                    priority=30,
                    recipient="x",
                    body="b",
                    state="queued",
                    created_at=now,
                    updated_at=now,
                )
            )


@pytest.mark.parametrize("priced_by", ["record", "sender"])
def test_accepted_messages_store_their_price_and_bills_use_it(
    bank: Any, tmp_path: Path, priced_by: str
) -> None:
    """Priced by record_results' own UPDATE, or handed in by the sender (the dispatcher's
    hot path: the price goes in with the acceptance, one UPDATE per row)."""
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"sim-sms": {"SMS": 8.8}}))
    settings = bank.settings.model_copy(update={"prices_file": path})
    job_id = bank.register()
    rows = [
        ("sms", "SMS", "sim-sms"),
        ("sms", "SMS", "other-relay"),
        ("sms", "LMS", "sim-sms"),
        ("push", "APNS", "sim-apns"),
        ("sms", "SMS", "sim-sms"),  # rejected: never priced
    ]
    add(bank, job_id, rows)
    now = datetime.now(UTC)
    with bank.store.session() as session:
        claimed = claim_rows(session, "sms", "me", 10, timedelta(seconds=30), now)
        claimed += claim_rows(session, "push", "me", 10, timedelta(seconds=30), now)
        by_key = {c.idempotency_key: c.id for c in claimed}
        outcomes = [SendOutcome(by_key[f"{job_id}.{i}"], "accepted") for i in range(4)]
        outcomes.append(SendOutcome(by_key[f"{job_id}.4"], "rejected", code="E-SIZE"))
        sent: dict[int, Decimal] | None = None
        if priced_by == "sender":
            sent = {}
            for i, (_, kind, provider) in enumerate(rows):
                price = price_of(settings, provider, kind)
                assert price is not None
                sent[by_key[f"{job_id}.{i}"]] = price
        record_results(session, settings, "me", outcomes, now, prices=sent)
    with bank.store.session() as session:
        prices = dict(
            session.execute(
                select(Message.idempotency_key, Message.unit_price).where(Message.job_id == job_id)
            ).all()
        )
    assert [prices[f"{job_id}.{i}"] for i in range(5)] == [
        Decimal("8.8"),
        Decimal("9.9"),
        Decimal("30"),
        Decimal("0"),
        None,
    ]
    with bank.store.session() as session:
        for message in session.scalars(select(Message).where(Message.job_id == job_id)):
            message.state = "delivered" if message.unit_price is not None else "failed"
    # The price table changed since: the bill still charges what was stored.
    charge = bill(bank.store, job_id, {**DEFAULT_PRICES_KRW, "SMS": Decimal(100)})
    assert charge.lines["SMS"].amount == Decimal("8.8") + Decimal("9.9")
    assert charge.lines["LMS"].amount == Decimal("30")
    assert charge.total == Decimal("48.7") and charge.not_billed == 1
