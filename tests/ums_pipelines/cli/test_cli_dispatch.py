"""`ums dispatch` and `ums job pause|resume|cancel|resend-failed` from the command line."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.store.models import Job


@pytest.fixture
def env(sim_bank: Any) -> dict[str, str]:
    s = sim_bank.settings
    return {
        "UMS_HOME": str(s.home),
        "UMS_DATABASE_URL": s.store_url,
        "UMS_GATEWAY_URL": s.gateway_url,
        "UMS_SMTP_PORT": str(s.smtp_port),
    }


def status(bank: Any, job_id: str) -> str:
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.status


def test_job_commands_and_dispatch(sim_bank: Any, env: dict[str, str], grant: Any) -> None:
    grant("ops", "operator", department="test-dept")
    bank = sim_bank
    bank.add_mixed(12)
    job_id = bank.targeted()
    runner = CliRunner()

    def ums(*args: str) -> Any:
        return runner.invoke(app, list(args), env=env)

    paused = ums("job", "pause", job_id, "--actor", "ops")
    assert paused.exit_code == 0, paused.output
    assert status(bank, job_id) == "paused"
    assert ums("dispatch", job_id).exit_code == 0  # a paused job: returns, sends nothing
    assert not [m for m in bank.messages(job_id) if m.submitted_at is not None]
    again = ums("job", "pause", job_id)
    assert again.exit_code == 0  # pausing twice is harmless
    assert ums("job", "resume", job_id).exit_code == 0
    assert ums("job", "resume", job_id).exit_code == 2  # not paused any more
    done = ums("dispatch", job_id, "--deadline", "60")
    assert done.exit_code == 0, done.output
    assert "done" in done.output and status(bank, job_id) == "done"
    resent = ums("job", "resend-failed", job_id)
    assert resent.exit_code == 0 and "resend-failed" in resent.output
    other = bank.targeted("cli-other", template_code="other")
    cancelled = ums("job", "cancel", other)
    assert cancelled.exit_code == 0 and status(bank, other) == "cancelled"
    assert {m.state for m in bank.messages(other)} == {"cancelled"}
    assert ums("job", "cancel", other).exit_code == 2
    assert ums("job", "pause", "no-such-job").exit_code == 2
