"""`ums budget set|show` and `ums job checks` (issue 6 stage checks): a job over its
department's budget is blocked, `ums dispatch` refuses it naming the check, and an
approver's acknowledgement (audited) lets it pass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import select
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.store.models import AuditLog

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


class Cli:
    def __init__(self, bank: Any) -> None:
        s = bank.settings
        self.env = {
            "UMS_HOME": str(s.home),
            "UMS_DATABASE_URL": s.store_url,
            "UMS_GATEWAY_URL": s.gateway_url,
            "COLUMNS": "250",
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0, **env: str) -> str:
        result = self.runner.invoke(app, list(args), env=self.env | env)
        assert result.exit_code == code, result.output
        return " ".join(result.output.split())


def test_budget_blocks_then_acknowledged(bank: Any, grant: Any) -> None:
    grant("fin", "approver", department="test-dept")  # RBAC: budget.set
    grant("test", "author", "approver", department="test-dept")  # four-eyes refuses, not RBAC
    cli = Cli(bank)
    for i in range(4):
        bank.add_customer(f"B{i}", phone=f"010{60000000 + i:08d}")
    assert "budget test-dept 2026-11: 30 KRW (set by fin)" in cli(
        "budget", "set", "test-dept", "2026-11", "30", "--actor", "fin"
    )
    assert "amount: '-5' must be a whole number" in cli(
        "budget", "set", "test-dept", "2026-11", "--actor", "fin", "--", "-5", code=2
    )
    assert "month: '2026-13' must be YYYY-MM" in cli(
        "budget", "set", "test-dept", "2026-13", "10", "--actor", "fin", code=2
    )
    job_id = bank.targeted("over", routes={"sms": ["sms"]})  # 4 SMS: 39.6 KRW
    out = cli("job", "checks", job_id, code=1)
    assert "budget │ block │ estimated 40 KRW plus 0 KRW spent and 0 KRW committed" in out
    assert "job over is blocked" in out
    refused = cli("dispatch", job_id, "--deadline", "5", code=1)
    assert "job over is blocked by its stage checks (budget: estimated 40 KRW" in refused
    assert bank.messages(job_id) == []
    status = cli("approval", "status", job_id)
    assert "blocked by stage checks (budget)" in status and "may send" not in status

    shown = json.loads(cli("budget", "show", "--json"))
    assert shown == [
        {
            "department": "test-dept",
            "month": "2026-11",
            "budget_krw": "30",
            "spent_krw": "0",
            "committed_krw": "39.6",
            "remaining_krw": "-9.6",
        }
    ]
    assert "│ test-dept │ 30 │ 0 │ 40 │ -10 │" in cli("budget", "show", "test-dept")
    assert "no budgets for 2026-10" in cli("budget", "show", "--month", "2026-10")

    with bank.store.session() as session:
        grant_role(session, "head", "approver", "test-dept", granted_by="admin")
    out = cli("job", "checks", job_id, "--acknowledge", "budget", code=2, UMS_ACTOR="")
    assert "actor: --actor (or UMS_ACTOR) names who acts" in out
    out = cli("job", "checks", job_id, "--acknowledge", "budget", "--actor", "test", code=1)
    assert "refused job over: test is its author" in out
    out = cli(
        "job", "checks", job_id, "--acknowledge", "budget", "--note", "연말 예산", UMS_ACTOR="head"
    )
    assert "budget │ block │" in out and "by head (연말 예산)" in out
    assert "is blocked" not in out
    data = json.loads(cli("job", "checks", job_id, "--json"))
    assert data["blocked"] is False and data["findings"][0]["acknowledged_by"] == "head"
    with bank.store.session() as session:
        entry = session.scalars(
            select(AuditLog).where(AuditLog.action == "job.check_acknowledged")
        ).one()
        assert entry.actor == "head" and entry.entity_id == job_id


def test_replan_and_recheck(bank: Any, grant: Any) -> None:
    grant("fin", "approver", department="test-dept")  # RBAC: budget.set
    grant("test", "author", department="test-dept")  # RBAC: job.replan, job.recheck
    cli = Cli(bank)
    for i in range(4):
        bank.add_customer(f"P{i}", phone=f"010{61000000 + i:08d}")
    assert "job_id: no job 'nope'" in cli("job", "checks", "nope", code=2)
    job_id = bank.targeted("plain", routes={"sms": ["sms"]})
    assert "job plain: no findings" in cli("job", "checks", job_id)
    out = cli("job", "checks", job_id, "--plan", "40", "--actor", "test", code=1)
    assert "plan_deviation │ block │ 4 targets against 40 planned: 90% off the plan" in out
    out = cli("job", "checks", job_id, "--plan", "4", "--actor", "test")
    assert "job plain: no findings" in out
    cli("budget", "set", "test-dept", "2026-11", "1", "--actor", "fin")
    out = cli("job", "checks", job_id, "--recheck", "--actor", "test", code=1)
    assert "budget │ block │" in out
