"""`ums cost report` and `ums cost reconcile`: the tables, JSON, and exit codes 0/1/2 (here
beside the settlement tests, whose seeding fixtures they share)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ums_pipelines.cli import app

MARCH = datetime(2026, 3, 12, 1, 0, tzinfo=UTC)
HEADER = "provider,month,message_type,count,unit_price,amount\n"


def ums(*args: str) -> Any:
    return CliRunner().invoke(app, ["cost", *args])


@pytest.fixture
def sent(
    bank: Any, job_in: Any, seed_rows: Any, cli_actor: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, list[str]]:
    monkeypatch.setenv("COLUMNS", "200")  # the whole table, not ellipses
    monkeypatch.setenv("UMS_HOME", str(bank.settings.home))
    monkeypatch.setenv("UMS_DATABASE_URL", bank.settings.store_url)
    card, loan = job_in("card"), job_in("loan")
    return {
        "card": seed_rows(card, 4, at=MARCH),
        "loan": seed_rows(loan, 2, at=MARCH, message_type="LMS", unit_price=Decimal(30)),
        "failed": seed_rows(card, 1, at=MARCH, state="failed"),
    }


def test_report_json_and_table(sent: Any) -> None:
    result = ums("report", "--month", "2026-03", "--by", "department", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [
        (r["department"], r["delivered"], r["amount_krw"], r["failed"]) for r in data["lines"]
    ] == [("card", 4, "39.6", 1), ("loan", 2, "60", 0)]
    table = ums("report", "--month", "2026-03")
    assert table.exit_code == 0 and "sim-sms" in table.stdout and "total 99.6 KRW" in table.stdout
    assert "no messages in 2026-05" in ums("report", "--month", "2026-05").stdout


def test_report_bad_input_exits_2(sent: Any) -> None:
    assert ums("report", "--month", "2026-3").exit_code == 2
    bad = ums("report", "--month", "2026-03", "--by", "colour")
    assert bad.exit_code == 2 and "by: colour" in bad.stdout


def test_reconcile_exit_codes(sent: Any, tmp_path: Path) -> None:
    clean = tmp_path / "clean.csv"
    clean.write_text(HEADER + "sim-sms,2026-03,SMS,4,9.9,39.6\nsim-sms,2026-03,LMS,2,30,60\n")
    args = ("--provider", "sim-sms", "--month", "2026-03")
    ok = ums("reconcile", str(clean), *args, "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["matches"] is True
    assert "the invoice matches" in ums("reconcile", str(clean), *args).stdout

    lines = [*sent["card"], sent["failed"][0]]
    detail = tmp_path / "detail.csv"
    detail.write_text(
        "message_key,message_type,amount\n"
        + "".join(f"{k},SMS,9.9\n" for k in lines)
        + "".join(f"{k},LMS,30\n" for k in sent["loan"])
    )
    off = tmp_path / "off.csv"
    off.write_text(HEADER + "sim-sms,2026-03,SMS,5,9.9,49.5\nsim-sms,2026-03,LMS,2,30,60\n")
    found = ums("reconcile", str(off), *args, "--detail", str(detail), "--json")
    assert found.exit_code == 1
    assert json.loads(found.stdout)["differences"] == [
        {
            "kind": "billed_not_delivered",
            "message_type": "SMS",
            "ours": "failed",
            "billed": "9.9",
            "message_key": sent["failed"][0],
            "line": 6,
        }
    ]
    table = ums("reconcile", str(off), *args, "--detail", str(detail))
    assert table.exit_code == 1 and "1 difference(s)" in table.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "sim-sms,2026-04,SMS,four,9.9,39.6\n")
    refused = ums("reconcile", str(bad), *args)
    assert refused.exit_code == 2
    assert "line 2: month" in refused.stdout and "line 2: count" in refused.stdout
    assert ums("reconcile", str(clean), *args, "--tolerance", "-1").exit_code == 2
