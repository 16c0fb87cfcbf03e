"""Confirming opt-outs within 14 days: sent once through the intake, or left due."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.customers.confirm import confirm_opt_outs, confirmations_due
from ums_pipelines.customers.optouts import OptOutScope, record_opt_out
from ums_pipelines.dispatch.intake import IntakeError
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.store.contact import OptOut
from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import AuditLog, Message

TEMPLATE = "optout-confirm"
VARIANTS = [ChannelVariant("sms", "[UMS은행] {{ name }}님 광고 수신거부가 처리되었습니다")]


def prepared(bank: Any) -> dict[str, int]:
    bank.add_customer("C1", phone="01011112222")
    bank.add_customer("C2", phone="01033334444", consents=[])  # nothing may reach C2
    bank.register(
        template_code=TEMPLATE, variants=VARIANTS, variables=["name"], routes={"default": ["sms"]}
    )
    now = utcnow()
    ids = {}
    with bank.store.session() as session:
        for cid, age in (("C1", 15), ("C2", 1)):
            row = record_opt_out(
                session,
                cid,
                OptOutScope(purpose="advertising"),
                source="mo",
                reference="1",
                reason="test",
                at=now - timedelta(days=age),
                now=now,
            )
            assert row is not None
            ids[cid] = row.id
    return ids


def test_confirmations_are_sent_once_and_refusals_stay_due(bank: Any) -> None:
    ids = prepared(bank)
    with bank.store.session() as session:
        due = {row.customer_id: at for row, at in confirmations_due(session)}
    assert due["C1"] < utcnow() < due["C2"]  # C1's is overdue

    result = confirm_opt_outs(bank.store, bank.settings, TEMPLATE)
    assert (result.submitted, result.refused) == (1, {"chain": 1})
    with bank.store.session() as session:
        c1, c2 = session.get(OptOut, ids["C1"]), session.get(OptOut, ids["C2"])
        assert c1 is not None and c2 is not None
        assert c1.confirmed_at is not None and c2.confirmed_at is None
        [message] = session.scalars(select(Message)).all()
        assert (message.customer_id, message.channel, message.state) == ("C1", "sms", "queued")
        assert "수신거부가 처리되었습니다" in message.body
        [entry] = session.scalars(
            select(AuditLog).where(AuditLog.action == "optout.confirmation_sent")
        ).all()
        assert entry.detail == {
            "opt_out_id": ids["C1"],
            "message_id": message.id,
            "template": TEMPLATE,
        }
        assert [row.customer_id for row, _ in confirmations_due(session)] == ["C2"]
        assert as_utc(c1.confirmed_at) >= as_utc(c1.opted_out_at)

    again = confirm_opt_outs(bank.store, bank.settings, TEMPLATE)
    assert (again.submitted, again.refused) == (0, {"chain": 1})
    with bank.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_an_unknown_template_is_named(bank: Any) -> None:
    prepared(bank)
    with pytest.raises(IntakeError, match="template_code"):
        confirm_opt_outs(bank.store, bank.settings, "no-such-template")


def test_the_commands(bank: Any, cli_actor: str) -> None:
    prepared(bank)
    s = bank.settings
    env = {"UMS_HOME": str(s.home), "UMS_DATABASE_URL": s.store_url}  # UMS_ACTOR: cli_actor
    runner = CliRunner()
    due = runner.invoke(app, ["optout", "due", "--json"], env=env)
    assert due.exit_code == 0, due.output
    assert [(r["customer_id"], r["overdue"]) for r in json.loads(due.output)] == [
        ("C1", True),
        ("C2", False),
    ]
    sent = runner.invoke(app, ["optout", "confirm", "--template", TEMPLATE, "--json"], env=env)
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.output) == {"submitted": 1, "refused": {"chain": 1}}
    bad = runner.invoke(app, ["optout", "confirm", "--template", "nope"], env=env)
    assert bad.exit_code == 2 and "template_code" in bad.output
