"""``pii scan`` through Typer's runner: JSON contract, table, exit codes, masking."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ums_pipelines.cli.pii import pii_app

RRN = "900101-1234567"
CARD = "4111-1111-1111-1111"
PHONE = "010-1234-5678"


def files(tmp_path: Path) -> Path:
    root = tmp_path / "attachments"
    (root / "sub").mkdir(parents=True)
    (root / "clean.txt").write_text("2026-11-26 결제 1,234,567원", encoding="utf-8")
    (root / "sub" / "list.csv").write_bytes(f"홍길동,{RRN},{PHONE}\n".encode("cp949"))
    (root / "page.html").write_text(f"<p>카드 {CARD}</p>", encoding="utf-8")
    (root / ".git").mkdir()
    (root / ".git" / "secret.txt").write_text(f"주민번호 {RRN}", encoding="utf-8")
    return root


def test_json_contract_and_exit_1(tmp_path: Path) -> None:
    root = files(tmp_path)
    result = CliRunner().invoke(pii_app, ["scan", str(root), "--json"])
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)
    assert [set(f) for f in findings] == [{"file", "type", "start", "end", "masked"}] * 3
    by_file = {(Path(f["file"]).name, f["type"]): f for f in findings}
    assert set(by_file) == {
        ("page.html", "CARD"),
        ("list.csv", "KR_RRN"),
        ("list.csv", "PHONE"),
    }
    rrn = by_file[("list.csv", "KR_RRN")]
    assert (rrn["start"], rrn["end"], rrn["masked"]) == (4, 18, "900101-1******")
    assert by_file[("page.html", "CARD")]["masked"] == "****-****-****-1111"
    assert by_file[("list.csv", "PHONE")]["masked"] == "010-****-5678"
    for value in (RRN, CARD, PHONE, "1234567", "1111-1111"):
        assert value not in result.output


def test_table_output_is_masked(tmp_path: Path) -> None:
    root = files(tmp_path)
    result = CliRunner().invoke(pii_app, ["scan", str(root)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "900101-1******" in result.stdout and "KR_RRN" in result.stdout
    assert "010-****-5678" in result.stdout
    assert RRN not in result.output and PHONE not in result.output


def test_no_findings_exit_0(tmp_path: Path) -> None:
    path = tmp_path / "clean.txt"
    path.write_text("주문번호 20261126-0001234, 버전 1.2.3", encoding="utf-8")
    result = CliRunner().invoke(pii_app, ["scan", str(path), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    assert CliRunner().invoke(pii_app, ["scan", str(path)]).stdout.strip() == "no PII found"


def test_unreadable_input_exit_2_but_readable_files_reported(tmp_path: Path) -> None:
    root = files(tmp_path)
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 not a pdf")
    missing = tmp_path / "missing.txt"
    result = CliRunner().invoke(pii_app, ["scan", str(root), str(missing), "--json"])
    assert result.exit_code == 2
    assert len(json.loads(result.stdout)) == 3
    assert "broken.pdf" in result.stderr and "missing.txt" in result.stderr
