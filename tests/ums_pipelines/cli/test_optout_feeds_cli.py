"""`ums optout import-080|import-kakao-blocks|push-off|list|add` from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.store.contact import OptOut


def env(bank: Any) -> dict[str, str]:
    return {"UMS_HOME": str(bank.settings.home), "UMS_DATABASE_URL": bank.settings.store_url}


def run(bank: Any, *args: str) -> Any:
    return CliRunner().invoke(app, ["optout", *args], env=env(bank))


def test_import_080_prints_masked_report_and_is_idempotent(bank: Any, tmp_path: Path) -> None:
    bank.add_customer("A1", phone="01011112222")
    file = tmp_path / "080_20261125.csv"
    file.write_bytes(
        "전화번호,수신거부일시\n01011112222,20261125093000\n01099998888,20261125093100\n"
        "x,20261125093200\n".encode("cp949")
    )
    result = run(bank, "import-080", str(file), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["recorded"], report["customers"]) == (1, 1)
    assert report["unmatched"] == [{"line": 3, "who": "010-****-8888"}]
    assert report["bad"][0]["line"] == 4 and report["bad"][0]["reason"].startswith("phone:")
    text = run(bank, "import-080", str(file))
    assert text.exit_code == 0, text.output
    said = " ".join(text.output.split())  # Rich wraps at the terminal's width
    assert "0 opt-out(s) recorded" in said and "1 already recorded" in said
    assert "99998888" not in text.output


def test_import_080_without_a_phone_column_exits_2(bank: Any, tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text("name,when\nkim,2026\n", encoding="utf-8")
    result = run(bank, "import-080", str(file))
    assert result.exit_code == 2 and "phone" in result.output


def test_kakao_blocks_push_off_list_and_add(bank: Any, tmp_path: Path) -> None:
    bank.add_customer("K1", phone="01077778888", push_token="tok-k1-aaaa")
    blocks = tmp_path / "blocks.csv"
    blocks.write_text(
        "phone,blocked_at,sender_key\n010-7777-8888,2026-11-25 10:00:00,key1\n", encoding="utf-8"
    )
    assert run(bank, "import-kakao-blocks", str(blocks)).exit_code == 0
    push = tmp_path / "push.jsonl"
    push.write_text(
        '{"push_token": "tok-k1-aaaa", "at": "2026-11-25T10:00:00+09:00",'
        ' "marketing_only": true}\n',
        encoding="utf-8",
    )
    assert run(bank, "push-off", str(push)).exit_code == 0
    added = run(bank, "add", "K1", "--channel", "sms", "--purpose", "all", "--reference", "T-9")
    assert added.exit_code == 0 and "recorded" in added.output
    refused = run(bank, "add", "K1", "--channel", "fax")
    assert refused.exit_code == 2 and "channel" in refused.output
    listed = run(bank, "list", "--customer", "K1", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {(r["source"], r["channel"], r["purpose"]) for r in json.loads(listed.output)}
    assert rows == {
        ("kakao_block", "friendtalk", "advertising"),
        ("kakao_block", "brand", "advertising"),
        ("push_off", "push", "advertising"),
        ("care", "sms", "all"),
    }
    only = json.loads(run(bank, "list", "--source", "care", "--json").output)
    assert [r["reference"] for r in only] == ["T-9"]
    with bank.store.session() as session:
        assert len(session.scalars(select(OptOut)).all()) == 4


def test_import_needs_the_operator_role(bank: Any, tmp_path: Path, grant: Any) -> None:
    grant("viewer", "auditor")
    file = tmp_path / "f.csv"
    file.write_text("phone,opted_out_at\n", encoding="utf-8")
    result = run(bank, "import-080", str(file), "--actor", "viewer")
    assert result.exit_code == 1 and "optout.import" in result.output
