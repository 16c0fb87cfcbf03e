"""`ums alerts ...`: the on-call list (masked), evaluate, list/show, ack; bad input exits
2 naming the field; a user without the operator role is refused (exit 1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.sendplane import Agent


def invoke(settings: Settings, *args: str, code: int = 0, actor: str | None = None) -> str:
    env = {"UMS_HOME": str(settings.home), "UMS_DATABASE_URL": settings.store_url,
           "COLUMNS": "200"}  # fmt: skip
    if actor is not None:
        env["UMS_ACTOR"] = actor
    result = CliRunner().invoke(app, ["alerts", *args], env=env)
    assert result.exit_code == code, result.output
    return result.output


def test_oncall_list_is_masked_and_entries_are_removed(settings: Settings) -> None:
    out = invoke(settings, "oncall", "add", "--name", "김민수", "--phone", "010-9999-0001",
                 "--email", "kim.minsu@example.com")  # fmt: skip
    assert "on-call entry 1 added" in out
    rows = json.loads(invoke(settings, "oncall", "list", "--json"))
    assert len(rows) == 1
    assert "01099990001" not in json.dumps(rows) and "kim.minsu" not in json.dumps(rows)
    assert rows[0]["name"] != "김민수"
    invoke(settings, "oncall", "remove", "1")
    assert json.loads(invoke(settings, "oncall", "list", "--json")) == []
    assert "id: no active on-call entry 1" in invoke(settings, "oncall", "remove", "1", code=2)


def test_bad_oncall_entries_name_the_field(settings: Settings) -> None:
    assert "phone/email" in invoke(settings, "oncall", "add", "--name", "x", code=2)
    assert "phone:" in invoke(settings, "oncall", "add", "--name", "x", "--phone", "12", code=2)
    out = invoke(settings, "oncall", "add", "--name", "x", "--email", "nope", code=2)
    assert "email:" in out


def test_evaluate_list_show_and_ack(settings: Settings, store: Store) -> None:
    silent = utcnow() - timedelta(minutes=5)
    with store.session() as session:
        session.add(
            Agent(
                agent_id="agent-x",
                host="h",
                pid=1,
                lanes=[0],
                providers=["sim-sms"],
                state="running",
                started_at=silent,
                heartbeat_at=silent,
                lease_seconds=30,
                sent=0,
            )
        )
    out = invoke(settings, "evaluate")
    assert "agent agent-x lost" in out and "1 raised" in out
    (row,) = json.loads(invoke(settings, "list", "--json"))
    assert row["key"] == "agent_loss:agent-x" and row["state"] == "raised"
    shown = json.loads(invoke(settings, "show", "agent_loss:agent-x"))
    assert [n["kind"] for n in shown["notifications"]] == ["raised"]
    assert "acknowledged" in invoke(settings, "ack", "agent_loss:agent-x")
    assert json.loads(invoke(settings, "list", "--json"))[0]["acked_by"]
    assert "key: no alert" in invoke(settings, "show", "nope", code=2)
    assert "key: no alert" in invoke(settings, "ack", "nope", code=2)


def test_changes_need_the_operator_role(settings: Settings, grant: Callable[..., Any]) -> None:
    grant("viewer", "auditor")
    assert json.loads(invoke(settings, "list", "--json", actor="viewer")) == []
    out = invoke(settings, "oncall", "add", "--name", "x", "--phone", "01011112222",
                 actor="viewer", code=1)  # fmt: skip
    assert "refused" in out
    invoke(settings, "evaluate", actor="viewer", code=1)
