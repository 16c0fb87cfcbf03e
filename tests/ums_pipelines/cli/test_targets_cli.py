"""`ums targets segment|upload|show` (issue 7): a segment or a file freezes a job's targets
once, with counts per suppression reason and the source in the freeze's audit entry; a
refused segment or unreadable file freezes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.segments import sql_sha256
from ums_pipelines.store.models import AuditLog
from ums_pipelines.targets import read_targets, targets_path


class Cli:
    def __init__(self, bank: Any) -> None:
        s = bank.settings
        self.env = {"UMS_HOME": str(s.home), "UMS_DATABASE_URL": s.store_url, "COLUMNS": "200"}
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(app, list(args), env=self.env)
        assert result.exit_code == code, result.output
        return " ".join(result.output.split())


def _bank(bank: Any) -> Any:
    bank.add_customer("A1", branch="강남지점", phone="01070000001")
    bank.add_customer("A2", branch="강남지점", phone=None)
    bank.add_customer("A3", branch="강남지점", deceased=True)
    bank.add_customer("B1", branch="종로지점", phone="01070000004")
    return bank


def test_segment_dry_run_then_freeze_then_show(bank: Any, tmp_path: Path) -> None:
    _bank(bank)
    job_id = bank.register(routes={"sms": ["sms"]})
    cli = Cli(bank)
    sql = "SELECT customer_id FROM customers WHERE branch = $branch"
    sql_file = tmp_path / "seg.sql"
    sql_file.write_text(sql, encoding="utf-8")
    args = ("targets", "segment", job_id, "--sql-file", str(sql_file), "--param", "branch=강남지점")
    dry = cli(*args, "--dry-run")
    assert "targets │ 1" in dry and "suppressed: deceased │ 1" in dry
    assert "suppressed: no_contact │ 1" in dry and "dry run: nothing frozen" in dry
    assert not targets_path(bank.settings, job_id).exists()

    assert f"frozen: 1 targets of job {job_id}" in cli(*args)
    assert read_targets(bank.settings, job_id)["customer_id"].to_list() == ["A1"]
    with bank.store.session() as session:
        entry = session.scalars(
            select(AuditLog).where(AuditLog.action == "job.targets_frozen")
        ).one()
        assert entry.actor == "test-cli"
        assert entry.detail["source"] == {
            "kind": "segment",
            "sql_sha256": sql_sha256(sql),
            "params": {"branch": "강남지점"},
            "candidates": 3,
            "sql_file": "seg.sql",
        }
    assert "targets already frozen (1 targets)" in cli(*args, code=2)
    shown = json.loads(cli("targets", "show", job_id, "--json"))
    assert shown["targets"] == 1
    assert shown["suppressed"] == {"deceased": 1, "no_contact": 1}
    assert shown["source"]["sql_sha256"] == sql_sha256(sql)
    assert "suppressed deceased: 1" in cli("targets", "show", job_id)


def test_refused_segment_freezes_nothing(bank: Any, tmp_path: Path) -> None:
    _bank(bank)
    job_id = bank.register(routes={"sms": ["sms"]})
    cli = Cli(bank)
    for sql, message in [
        ("ATTACH 'x.db' AS x", "segment: only a SELECT may run, not ATTACH"),
        ("SELECT * FROM read_csv('/etc/passwd')", "table function read_csv() is not allowed"),
        ("SELECT customer_id FROM messages", "table 'messages' is not a profile table"),
        ("SELECT customer_id FROM customers; DROP TABLE customers", "found 2 (SELECT, DROP)"),
    ]:
        sql_file = tmp_path / "bad.sql"
        sql_file.write_text(sql, encoding="utf-8")
        assert message in cli("targets", "segment", job_id, "--sql-file", str(sql_file), code=2)
    assert "--param: 'x' must be NAME=VALUE" in cli(
        "targets", "segment", job_id, "--sql-file", str(sql_file), "--param", "x", code=2
    )
    assert not targets_path(bank.settings, job_id).exists()
    assert f"job {job_id}: targets not frozen yet" in cli("targets", "show", job_id, code=1)


def test_upload(bank: Any, tmp_path: Path) -> None:
    _bank(bank)
    job_id = bank.register(routes={"sms": ["sms"]})
    cli = Cli(bank)
    path = tmp_path / "list.csv"
    path.write_bytes("customer_id\nA1\nB1\nA1\nZZ\n\nA3\n".encode("cp949"))
    out = cli("targets", "upload", job_id, str(path))
    assert "list.csv: 5 rows, 3 accepted, 2 rejected" in out
    assert "line 4: duplicate: customer_id: duplicate of line 2" in out
    assert "line 5: unknown: customer_id: no such customer" in out
    assert "suppressed: deceased │ 1" in out and f"frozen: 2 targets of job {job_id}" in out
    assert sorted(read_targets(bank.settings, job_id)["customer_id"].to_list()) == ["A1", "B1"]
    shown = json.loads(cli("targets", "show", job_id, "--json"))
    assert shown["source"]["kind"] == "file" and shown["source"]["file"] == "list.csv"


def test_upload_refused(bank: Any, tmp_path: Path) -> None:
    _bank(bank)
    job_id = bank.register(routes={"sms": ["sms"]})
    cli = Cli(bank)
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"nope")
    assert "file: not a readable XLSX workbook" in cli(
        "targets", "upload", job_id, str(bad), code=2
    )
    none = tmp_path / "none.csv"
    none.write_text("customer_id\nQQ\n", encoding="utf-8")
    assert "has no valid customer_id row; nothing frozen" in cli(
        "targets", "upload", job_id, str(none), code=2
    )
    assert "job_id: no job 'nope'" in cli("targets", "upload", "nope", str(none), code=2)
    assert not targets_path(bank.settings, job_id).exists()


def test_segment_needs_author_role(bank: Any, tmp_path: Path, grant: Any) -> None:
    _bank(bank)
    job_id = bank.register(routes={"sms": ["sms"]})
    grant("viewer", "auditor", department="test-dept")
    sql_file = tmp_path / "seg.sql"
    sql_file.write_text("SELECT customer_id FROM customers", encoding="utf-8")
    out = Cli(bank)(
        "targets", "segment", job_id, "--sql-file", str(sql_file), "--actor", "viewer", code=1
    )
    assert "access denied: viewer may not targets.segment: it needs author" in out
    assert not targets_path(bank.settings, job_id).exists()
