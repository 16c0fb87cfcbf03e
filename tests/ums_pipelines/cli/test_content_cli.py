"""`ums content add|list|show|approve|retire|export` from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from ums_pipelines.cli.content import content_app
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import TemplateVersion

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "content"


def item(code: str, body: str = "[UMS은행] {{ name }}님", **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"{code} 안내",
        "purpose": "informational",
        "department": "ops",
        "tags": ["notice"],
        "variables": ["name"],
        "variants": [{"channel": "sms", "body": body}],
        **extra,
    }


class Cli:
    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        # The bank's commands as a department exempt from review: the review workflow
        # from the command line is test_content_review_cli.py's.
        self.env = {
            "UMS_HOME": str(settings.home),
            "UMS_DATABASE_URL": settings.store_url,
            "UMS_CONTENT_REVIEW_REQUIRED": "false",
        }
        self.dir = tmp_path
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(content_app, list(args), env=self.env)
        assert result.exit_code == code, result.output
        return result.output

    def file(self, name: str, data: Any) -> str:
        path = self.dir / name
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return str(path)


@pytest.fixture
def cli(settings: Settings, tmp_path: Path) -> Cli:
    return Cli(settings, tmp_path)


def versions(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count(TemplateVersion.version.distinct()))) or 0


def test_adding_the_examples_then_again_changes_nothing(cli: Cli, store: Store) -> None:
    files = [str(p) for p in sorted(EXAMPLES.glob("*.yaml"))]
    out = cli("add", *files)
    assert "card_payment_due.yaml: card-payment-due v1 written (approved)" in out
    assert "year_end_event.yaml: year-end-savings-event v1 written (approved)" in out
    again = cli("add", *files)
    assert again.count("unchanged (approved)") == len(files)
    listed = json.loads(cli("list", "--json"))
    assert [r["code"] for r in listed] == ["card-payment-due", "year-end-savings-event"]
    assert listed[1]["channels"] == ["sms", "rcs", "friendtalk", "push", "email"]


def test_a_bad_item_or_file_does_not_stop_the_others(cli: Cli, store: Store) -> None:
    mixed = cli.file(
        "mixed.yaml",
        [item("first"), item("bad code"), item("undeclared", "{{ balance }}"), item("last")],
    )
    broken = cli.dir / "broken.json"
    broken.write_text('{"code": ', encoding="utf-8")
    good = cli.file("good.yaml", item("good"))
    out = cli("add", mixed, str(broken), good, code=1)
    assert "mixed.yaml[0]: first v1 written" in out
    assert "FAILED mixed.yaml[1]: code: String should match pattern" in out
    # Brackets in a reason are printed as they are, not taken for markup.
    assert (
        "FAILED mixed.yaml[2]: undeclared: variants[sms].body: variables not declared: balance"
        in out
    )
    assert "mixed.yaml[3]: last v1 written" in out
    assert "FAILED broken.json: line 1:" in out
    assert "good.yaml: good v1 written" in out
    assert "3 item(s) or file(s) failed" in out
    assert [r["code"] for r in json.loads(cli("list", "--json"))] == ["first", "good", "last"]


def test_a_draft_is_approved_by_someone_else(cli: Cli, grant: Any) -> None:
    grant("kim", "author", "approver", department="ops")  # four-eyes still stops kim
    grant("lee", "approver", department="ops")
    grant("park", "approver", department="ops")
    cli("add", cli.file("n.yaml", item("notice")))
    path = cli.file("n2.yaml", item("notice", "{{ name }}님 새 문구"))
    assert "notice v2 written (draft)" in cli("add", path, "--draft", "--actor", "kim")
    assert "'kim' wrote version 2" in cli("approve", "notice", "2", "--actor", "kim", code=1)
    assert "notice v2 approved by lee" in cli("approve", "notice", "2", "--actor", "lee")
    assert "not a draft" in cli("approve", "notice", "2", "--actor", "park", code=1)


def test_list_filters_and_table(cli: Cli) -> None:
    cli("add", cli.file("a.yaml", [item("alpha"), item("beta", tags=["card"], department="card")]))
    table = cli("list")
    assert "Content items: 2" in table and "alpha" in table and "v1 approved" in table
    assert [r["code"] for r in json.loads(cli("list", "--tag", "card", "--json"))] == ["beta"]
    assert [r["code"] for r in json.loads(cli("list", "--search", "ALPHA", "--json"))] == ["alpha"]
    assert json.loads(cli("list", "--channel", "push", "--json")) == []
    assert "purpose: 'spam'" in cli("list", "--purpose", "spam", code=2)


def test_show_prints_texts_with_counts(cli: Cli) -> None:
    cli("add", cli.file("n.yaml", item("notice", valid_until="2099-12-31T23:59:00+09:00")))
    out = cli("show", "notice")
    assert "version 1 (approved)" in out
    assert "2099-12-31 23:59 KST" in out  # in the business time zone
    # "[UMS은행] " 8 chars/10 bytes, "{{ name }}" 10/10, "님" 1/2.
    assert "19 chars, 22 bytes EUC-KR" in out
    assert "[UMS은행] {{ name }}님" in out
    assert "customer" in out and "Versions" in out and "Variables" in out
    assert "no content item 'nope'" in cli("show", "nope", code=1)
    [listed] = json.loads(cli("list", "--json"))
    assert listed["valid_until"] == "2099-12-31T14:59:00+00:00"
    assert "has no version 4 (has 1)" in cli("show", "notice", "--version", "4", code=1)


def test_retire_hides_an_item_and_is_reported_once(cli: Cli) -> None:
    cli("add", cli.file("n.yaml", item("notice")))
    assert "notice retired" in cli("retire", "notice", "--reason", "상품 종료")
    assert json.loads(cli("list", "--json")) == []
    assert json.loads(cli("list", "--all", "--json"))[0]["retired"] is True
    assert "retired already" in cli("retire", "notice", "--reason", "again", code=1)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_export_writes_a_file_that_adds_back_unchanged(cli: Cli, store: Store, suffix: str) -> None:
    cli("add", cli.file("n.yaml", item("notice", valid_from="2026-01-01T09:00:00+09:00")))
    out = cli.dir / f"exported{suffix}"
    assert "wrote" in cli("export", "notice", "--out", str(out))
    text = out.read_text(encoding="utf-8")
    assert "2026-01-01T09:00:00+09:00" in text
    assert "notice v1 unchanged (approved)" in cli("add", str(out))
    assert versions(store) == 1
    assert "--out: notes.txt" in cli(
        "export", "notice", "--out", str(cli.dir / "notes.txt"), code=2
    )
