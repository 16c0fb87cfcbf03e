"""`ums urgent draft|dry-run|approve|status`: exit codes, the dry run's reach and time,
the drafter refused, sending through the simulator and the status after it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.jobs import ChannelVariant, register_sender_number, register_template
from ums_pipelines.lanes import Purpose

DRAFTER, APPROVER = "ops-kim", "ops-head"


class Cli:
    def __init__(self, bank: Any) -> None:
        s = bank.settings
        self.env = {
            "UMS_HOME": str(s.home),
            "UMS_DATABASE_URL": s.store_url,
            "UMS_GATEWAY_URL": s.gateway_url,
            "UMS_SMTP_PORT": str(s.smtp_port),
            "COLUMNS": "200",
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(app, ["urgent", *args], env=self.env)
        assert result.exit_code == code, result.output
        return " ".join(result.output.split())


@pytest.fixture
def cli(sim_bank: Any, grant: Callable[..., None]) -> Cli:
    grant(DRAFTER, "author", "operator")
    grant(APPROVER, "approver")
    with sim_bank.store.session() as session:
        register_sender_number(session, "15881234", "고객센터", actor="test")
        register_template(
            session,
            code="outage",
            name="장애 안내",
            purpose=Purpose.INFORMATIONAL,
            variables=["name"],
            variants=[ChannelVariant("sms", "[UMS은행] {{ name }}님 전산 장애 안내")],
            actor="test",
        )
    for i in range(12):
        sim_bank.add_customer(f"C{i}")
    sim_bank.add_customer("D0", deceased=True)
    return Cli(sim_bank)


def _draft(cli: Cli) -> int:
    out = cli(
        "draft",
        "--title",
        "전산 장애",
        "--template",
        "outage",
        "--chain",
        "sms",
        "--sender",
        "15881234",
        "--actor",
        DRAFTER,
    )
    assert "drafted urgent notice" in out
    return int(out.split("urgent notice ")[1].split()[0])


def test_draft_dry_run_approve_status(cli: Cli) -> None:
    notice = _draft(cli)
    report = json.loads(cli("dry-run", str(notice), "--actor", DRAFTER, "--json"))
    assert report["reach"] == {"sms": 12}
    assert report["suppressed"] == {"deceased": 1}
    text = cli("dry-run", str(notice), "--actor", DRAFTER)  # again: the same frozen list
    assert "sim-sms" in text and "predicted" in text
    refused = cli("approve", str(notice), "--actor", DRAFTER, code=1)
    assert "refused" in refused
    sent = json.loads(cli("approve", str(notice), "--actor", APPROVER, "--json"))
    assert sent["enqueued"] == 12 and sent["start_s"] is not None
    status = json.loads(cli("status", str(notice), "--actor", DRAFTER, "--json"))
    assert status["status"] == "sent"
    assert status["approved_by"] == APPROVER
    assert sum(status["states"].values()) >= 12
    assert status["unsent"] is False


def test_bad_input_and_refusals(cli: Cli) -> None:
    cli("dry-run", "999", "--actor", DRAFTER, code=2)  # no such notice
    out = cli(
        "draft",
        "--title",
        "x",
        "--template",
        "outage",
        "--chain",
        "fax",
        "--sender",
        "15881234",
        "--actor",
        DRAFTER,
        code=2,
    )
    assert "fax" in out
    notice = _draft(cli)
    # Not dry-run yet: nothing to approve.
    assert "only a dry-run notice" in cli("approve", str(notice), "--actor", APPROVER, code=1)
    # A role missing: refused and audited.
    assert "urgent.dry_run" in cli("dry-run", str(notice), "--actor", "nobody", code=1)
