"""`ums mo poll` from the command line."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import select
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.gateway_sim import GatewaySimulator
from ums_pipelines.store.contact import MoMessage, OptOut


def env(bank: Any) -> dict[str, str]:
    s = bank.settings
    return {
        "UMS_HOME": str(s.home),
        "UMS_DATABASE_URL": s.store_url,
        "UMS_GATEWAY_URL": s.gateway_url,
    }


def test_mo_poll_stores_and_routes_replies(sim_bank: Any, gateway: GatewaySimulator) -> None:
    phone = f"010{uuid.uuid4().int % 100_000_000:08d}"
    sim_bank.add_customer("C1", phone=phone)
    runner = CliRunner()
    # Whatever earlier tests left in the shared simulator's feeds is read first.
    first = runner.invoke(app, ["mo", "poll", "--json"], env=env(sim_bank))
    assert first.exit_code == 0, first.output
    body = {"from": phone, "to": "15881234", "text": "수 신 거 부", "channel": "sms"}
    assert httpx.post(f"{gateway.base_url}/admin/v1/mo", json=body).status_code == 201
    result = runner.invoke(app, ["mo", "poll", "--json"], env=env(sim_bank))
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert (counts["fetched"], counts["opt_out"], counts["opt_outs_recorded"]) == (1, 1, 1)
    with sim_bank.store.session() as session:
        [opt] = session.scalars(select(OptOut).where(OptOut.customer_id == "C1")).all()
        assert opt.source == "mo"
        assert session.scalars(
            select(MoMessage.route).where(MoMessage.customer_id == "C1")
        ).all() == ["opt_out"]
    text = runner.invoke(app, ["mo", "poll"], env=env(sim_bank))
    assert text.exit_code == 0 and "0 fetched" in text.output


def test_mo_poll_refuses_an_unknown_feed(sim_bank: Any) -> None:
    result = CliRunner().invoke(app, ["mo", "poll", "--channel", "fax"], env=env(sim_bank))
    assert result.exit_code == 2
    assert "--channel" in result.output and "fax" in result.output


def test_the_care_queue_from_the_command_line(
    sim_bank: Any, gateway: GatewaySimulator, grant: Any
) -> None:
    grant("agent-kim", "operator")
    phone = f"010{uuid.uuid4().int % 100_000_000:08d}"
    sim_bank.add_customer("C1", phone=phone)
    runner = CliRunner()
    assert runner.invoke(app, ["mo", "poll"], env=env(sim_bank)).exit_code == 0
    text = f"카드 분실 신고합니다 제 번호는 {phone}"
    body = {"from": phone, "to": "15881234", "text": text, "channel": "sms"}
    assert httpx.post(f"{gateway.base_url}/admin/v1/mo", json=body).status_code == 201
    assert runner.invoke(app, ["mo", "poll"], env=env(sim_bank)).exit_code == 0
    listed = runner.invoke(app, ["mo", "care", "--json"], env=env(sim_bank))
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert (row["customer_id"], row["channel"]) == ("C1", "sms")
    assert phone not in listed.output and phone[-4:] in row["number"]
    assert row["text"].startswith("카드 분실 신고합니다")
    handled = runner.invoke(
        app, ["mo", "handle", str(row["id"]), "--actor", "agent-kim"], env=env(sim_bank)
    )
    assert handled.exit_code == 0, handled.output
    assert json.loads(runner.invoke(app, ["mo", "care", "--json"], env=env(sim_bank)).output) == []
    again = runner.invoke(
        app, ["mo", "handle", str(row["id"]), "--actor", "agent-kim"], env=env(sim_bank)
    )
    assert again.exit_code == 2 and "already handled" in again.output
