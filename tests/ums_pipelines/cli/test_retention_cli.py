"""`ums retention policies|plan|purge|hold add|release|list`."""

from __future__ import annotations

import json
from datetime import timedelta

import time_machine
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store, utcnow


def _run(settings: Settings, *args: str, code: int = 0) -> str:
    env = {"UMS_HOME": str(settings.home), "UMS_DATABASE_URL": settings.store_url}
    result = CliRunner().invoke(app, list(args), env=env | {"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def test_holds_plan_and_noticed_purge(settings: Settings, store: Store) -> None:
    assert "audit_log" in _run(settings, "retention", "policies")
    out = _run(settings, "retention", "hold", "add", "--reason", "case", code=2)
    assert "customer_id/job_id" in out
    assert "placed" in _run(
        settings, "retention", "hold", "add", "--customer", "C9", "--reason", "r"
    )
    assert "customer=C9" in _run(settings, "retention", "hold", "list")

    dry = json.loads(_run(settings, "retention", "plan", "--dry-run"))
    assert dry["plan"] is None and set(dry["counts"]) >= {"message_content", "audit_log"}
    assert "no plan is due" in _run(settings, "retention", "purge", "--dry-run")
    plan = json.loads(_run(settings, "retention", "plan"))
    assert "hours" in _run(settings, "retention", "purge", code=2)  # the notice runs
    with time_machine.travel(utcnow() + timedelta(hours=25), tick=False):
        assert plan["plan"] in _run(settings, "retention", "purge", "--dry-run")
        done = json.loads(_run(settings, "retention", "purge"))
        assert done["plan"] == plan["plan"]
        _run(settings, "retention", "purge", code=2)  # carried out once

    assert "released" in _run(settings, "retention", "hold", "release", "1")
    assert "already released" in _run(settings, "retention", "hold", "release", "1", code=2)
    assert "C9" not in _run(settings, "retention", "hold", "list")
