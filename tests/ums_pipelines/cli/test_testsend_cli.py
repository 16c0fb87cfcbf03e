"""`ums job test-send`: staff of the directory get the job's content through the providers,
marked as a test; saved groups; refusals exit 2 and send nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.testsends import load_groups

DIRECTORY = (
    "staff_id,name,department,phone,email,push_token\n"
    "S1,홍길동,마케팅,010-9000-0001,s1@bank.example,\n"
    "S2,김직원,마케팅,010-9000-0002,,\n"
)


class Cli:
    def __init__(self, bank: Any, directory: Path) -> None:
        s = bank.settings
        self.env = {
            "UMS_HOME": str(s.home),
            "UMS_DATABASE_URL": s.store_url,
            "UMS_GATEWAY_URL": s.gateway_url,
            "UMS_SMTP_PORT": str(s.smtp_port),
            "UMS_STAFF_DIRECTORY": str(directory),
            "COLUMNS": "250",
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(app, list(args), env=self.env)
        assert result.exit_code == code, result.output
        return " ".join(result.output.split())


def test_test_send_reaches_staff_through_the_providers(
    sim_bank: Any, tmp_path: Path, ledger_rows: Any
) -> None:
    directory = tmp_path / "staff.csv"
    directory.write_text(DIRECTORY, encoding="utf-8")
    cli = Cli(sim_bank, directory)
    sim_bank.add_customer("C1")
    job_id = sim_bank.register(routes={"sms": ["sms"], "email": ["email", "sms"]})

    out = cli("job", "test-send", job_id, "--staff", "S1", "--staff", "S2", "--group", "mkt",
              "--wait", "20")  # fmt: skip

    assert f"test round 1 of {job_id}: 3 message(s) to 2 staff under {job_id}~test" in out
    assert load_groups(sim_bank.settings, job_id) == {"mkt": ["S1", "S2"]}
    sent = sim_bank.messages(f"{job_id}~test")
    assert len(sent) == 3 and all(m.state in ("accepted", "delivered", "failed") for m in sent)
    assert {m.recipient for m in sent} == {"01090000001", "01090000002", "s1@bank.example"}
    booked = ledger_rows(f"{job_id}~test")
    assert {r["clientKey"] for r in booked} >= {
        m.idempotency_key for m in sent if m.channel == "sms"
    }
    assert sim_bank.messages(job_id) == []  # the job itself sent nothing
    assert ledger_rows(f"{job_id}:") == [] and ledger_rows(f"{job_id}.") == []

    again = cli("job", "test-send", job_id, "--group", "mkt")
    assert "test round 2" in again
    assert "the job has no test group 'other'" in cli(
        "job", "test-send", job_id, "--group", "other", code=2
    )
    assert "not in the staff directory: C1" in cli(
        "job", "test-send", job_id, "--staff", "C1", code=2
    )
    assert len(sim_bank.messages(f"{job_id}~test")) == 6
