"""2-year reconfirmation of advertising consents: who is due, notices sent once through
the intake, audited, and the commands."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.customers.optouts import OptOutScope, record_opt_out
from ums_pipelines.customers.reconfirm import (
    caller_key,
    reconfirmations_due,
    send_reconfirm_notices,
)
from ums_pipelines.dispatch.intake import IntakeError
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Purpose
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import AuditLog, Consent, Message

TEMPLATE = "consent-reconfirm"
VARIANTS = [ChannelVariant("sms", "[UMS은행] {{ name }}님 광고 수신동의 재확인 안내")]


def _ad_consent(bank: Any, customer_id: str, days_ago: int) -> None:
    with bank.store.session() as session:
        for channel in ("sms", "alimtalk"):
            session.add(
                Consent(
                    customer_id=customer_id,
                    channel=channel,
                    purpose="ad",
                    granted=True,
                    consented_at=utcnow() - timedelta(days=days_ago - (channel == "sms")),
                    source="test",
                )
            )


def prepared(bank: Any) -> None:
    """C-soon lapses in ~10 days, C-lapsed lapsed, C-fresh is far off; C-dead and C-opted
    get no notice; C-nocontact has no informational consent (the intake refuses it)."""
    for cid, days in (
        ("C-soon", 720),
        ("C-lapsed", 800),
        ("C-fresh", 100),
        ("C-dead", 720),
        ("C-opted", 720),
        ("C-nocontact", 725),
    ):
        bank.add_customer(
            cid,
            deceased=cid == "C-dead",
            consents=() if cid == "C-nocontact" else ("sms",),
            purpose="info",
        )
        _ad_consent(bank, cid, days)
    now = utcnow()
    with bank.store.session() as session:
        record_opt_out(
            session,
            "C-opted",
            OptOutScope(purpose="advertising"),
            source="mo",
            reference="1",
            reason="test",
            at=now,
            now=now,
        )
    bank.register(
        template_code=TEMPLATE, variants=VARIANTS, variables=["name"], routes={"default": ["sms"]}
    )


def test_who_is_due_oldest_first(bank: Any) -> None:
    prepared(bank)
    with bank.store.session() as session:
        due = reconfirmations_due(session, bank.settings)
    assert [d.customer_id for d in due] == ["C-lapsed", "C-nocontact", "C-soon"]
    assert all(d.state == "pending" for d in due)
    soon = due[2]
    # The oldest granted ad consent decides (sms is a day older than alimtalk here).
    assert timedelta(days=9) < soon.lapses_at - utcnow() < timedelta(days=11)
    bank.settings.ad_reconfirm_notice_days = 5
    with bank.store.session() as session:
        assert [d.customer_id for d in reconfirmations_due(session, bank.settings)] == [
            "C-lapsed",
            "C-nocontact",
        ]


def test_notices_are_sent_once_audited_and_refusals_stay_visible(bank: Any) -> None:
    prepared(bank)
    result = send_reconfirm_notices(bank.store, bank.settings, TEMPLATE)
    assert (result.submitted, result.already, result.refused) == (2, 0, {"chain": 1})
    with bank.store.session() as session:
        sent = {m.customer_id: m for m in session.scalars(select(Message))}
        assert set(sent) == {"C-lapsed", "C-soon"}
        assert all(m.channel == "sms" and "재확인" in m.body for m in sent.values())
        entries = session.scalars(
            select(AuditLog).where(AuditLog.action == "consent.reconfirm_notice_sent")
        ).all()
        assert {e.entity_id: e.detail["message_id"] for e in entries} == {
            cid: m.id for cid, m in sent.items()
        }
        states = {d.customer_id: d.state for d in reconfirmations_due(session, bank.settings)}
        assert states == {"C-lapsed": "sent", "C-soon": "sent", "C-nocontact": "refused"}

    again = send_reconfirm_notices(bank.store, bank.settings, TEMPLATE)
    assert (again.submitted, again.already) == (0, 3)
    with bank.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2


def test_a_renewed_consent_is_no_longer_due_and_gets_its_own_key(bank: Any) -> None:
    prepared(bank)
    with bank.store.session() as session:
        old = reconfirmations_due(session, bank.settings)[0]
        session.execute(
            update(Consent).where(Consent.customer_id == "C-lapsed").values(consented_at=utcnow())
        )
        assert "C-lapsed" not in {
            d.customer_id for d in reconfirmations_due(session, bank.settings)
        }
    assert caller_key("C-lapsed", old.consented_at, bank.settings) != caller_key(
        "C-lapsed", utcnow(), bank.settings
    )


def test_the_limit_and_the_template_checks(bank: Any) -> None:
    prepared(bank)
    assert send_reconfirm_notices(bank.store, bank.settings, TEMPLATE, limit=1).submitted == 1
    with pytest.raises(IntakeError, match="template_code: no template"):
        send_reconfirm_notices(bank.store, bank.settings, "no-such-template")
    bank.register(
        template_code="ad-tpl",
        variants=VARIANTS,
        variables=["name"],
        purpose=Purpose.ADVERTISING,
        routes={"default": ["sms"]},
    )
    with pytest.raises(IntakeError, match="must be informational"):
        send_reconfirm_notices(bank.store, bank.settings, "ad-tpl")


def test_the_commands(bank: Any, cli_actor: str) -> None:
    prepared(bank)
    s = bank.settings
    env = {"UMS_HOME": str(s.home), "UMS_DATABASE_URL": s.store_url}  # UMS_ACTOR: cli_actor
    runner = CliRunner()
    due = runner.invoke(app, ["consent", "due", "--json"], env=env)
    assert due.exit_code == 0, due.output
    rows = json.loads(due.output)
    assert [(r["customer_id"], r["lapsed"], r["notice"]) for r in rows] == [
        ("C-lapsed", True, "pending"),
        ("C-nocontact", False, "pending"),
        ("C-soon", False, "pending"),
    ]
    sent = runner.invoke(
        app, ["consent", "reconfirm-notices", "--template", TEMPLATE, "--json"], env=env
    )
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.output) == {"submitted": 2, "already": 0, "refused": {"chain": 1}}
    table = runner.invoke(app, ["consent", "due"], env={**env, "COLUMNS": "200"})
    assert table.exit_code == 0 and "C-soon" in table.output and "sent" in table.output
    bad = runner.invoke(app, ["consent", "reconfirm-notices", "--template", "nope"], env=env)
    assert bad.exit_code == 2 and "template_code" in bad.output
