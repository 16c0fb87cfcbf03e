"""`ums words add|list|retire|restore|check|seed` from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ums_pipelines.cli.words import words_app
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store


class Cli:
    def __init__(self, settings: Settings) -> None:
        self.env = {"UMS_HOME": str(settings.home), "UMS_DATABASE_URL": settings.store_url}
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(words_app, list(args), env=self.env)
        assert result.exit_code == code, result.output
        return result.output


@pytest.fixture
def cli(settings: Settings, store: Store) -> Cli:
    return Cli(settings)


def test_add_list_check_retire_restore(cli: Cli, tmp_path: Path, grant: Any) -> None:
    grant("kim", "reviewer")  # keeper of the global list
    out = cli("add", "원금 보장", "--reason", "허위 광고", "--mode", "normalised", "--actor", "kim")
    assert "word 1 added to the global list (normalised)" in out
    assert "to the card list (exact)" in cli(
        "add", "FREE", "--reason", "영문", "--department", "card"
    )
    cli("add", "특판", "--reason", "예금", "--department", "deposit", "--mode", "normalised")

    listed = json.loads(cli("list", "--department", "card", "--json"))
    assert [(r["word"], r["scope"], r["mode"]) for r in listed] == [
        ("원금 보장", "global", "normalised"),
        ("FREE", "card", "exact"),
    ]
    assert "3 words" in cli("list")

    out = cli("check", "--department", "card", "--text", "(광고) 원금-보장 free 상품", code=1)
    assert "'원금-보장' is forbidden word '원금 보장' [global]: 허위 광고" in out
    assert "'free' is forbidden word 'FREE' [card]: 영문" in out
    assert "2 forbidden word(s) found" in out

    page = tmp_path / "body.txt"
    page.write_text("안내\n특 판 예금\n", encoding="utf-8")
    hits = json.loads(
        cli("check", "--department", "deposit", "--file", str(page), "--json", code=1)
    )
    assert [(h["word"], h["start"], h["end"]) for h in hits] == [("특판", 3, 6)]
    assert "line 2, chars 3-6" in cli(
        "check", "--department", "deposit", "--file", str(page), code=1
    )
    assert "no forbidden words" in cli("check", "--text", "특판 FREE")  # global list only

    assert "word 1 (원금 보장) retired" in cli("retire", "1")
    assert "no forbidden words" in cli("check", "--text", "원금 보장")
    assert len(json.loads(cli("list", "--all", "--json"))) == 3
    cli("restore", "1")
    cli("check", "--text", "원금 보장", code=1)


def test_bad_input_exits_2_naming_the_field(cli: Cli, tmp_path: Path) -> None:
    assert "reason: required" in cli("add", "무조건", "--reason", " ", code=2)
    assert "mode: 'fuzzy'" in cli("add", "무조건", "--reason", "r", "--mode", "fuzzy", code=2)
    cli("add", "무조건", "--reason", "r")
    assert "already active" in cli("add", "무조건", "--reason", "r", code=2)
    assert "word_id: no forbidden word 9" in cli("retire", "9", code=2)
    assert "exactly one of --text or --file" in cli("check", code=2)
    assert "cannot be read" in cli("check", "--file", str(tmp_path / "none.txt"), code=2)
    assert "department: 'a b'" in cli("check", "--department", "a b", "--text", "x", code=2)


def test_seed_adds_the_default_list_once(cli: Cli) -> None:
    assert "10 default word(s) added" in cli("seed")
    assert "0 default word(s) added" in cli("seed")
    assert "[global]" in cli("check", "--text", "무 조 건 드립니다", code=1)
