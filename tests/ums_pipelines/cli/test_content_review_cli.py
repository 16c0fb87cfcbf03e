"""`ums content submit|review|reasons|history` and approval after review, from the
command line, with review required (the default)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ums_pipelines.cli.content import content_app
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store

DEPT = "ops"


def item(body: str, purpose: str = "informational") -> dict[str, Any]:
    return {
        "code": "notice",
        "name": "안내",
        "purpose": purpose,
        "department": DEPT,
        "variables": ["name"],
        "variants": [{"channel": "sms", "body": body}],
    }


class Cli:
    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.env = {"UMS_HOME": str(settings.home), "UMS_DATABASE_URL": settings.store_url}
        self.dir = tmp_path
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(content_app, list(args), env=self.env)
        assert result.exit_code == code, result.output
        return result.output

    def add(self, data: Any, *args: str, code: int = 0) -> str:
        path = self.dir / "item.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return self(("add"), str(path), *args, code=code)


@pytest.fixture
def cli(settings: Settings, tmp_path: Path, store: Store) -> Cli:
    with store.session() as session:
        grant_role(session, "lee", "reviewer", DEPT, granted_by="admin")
        grant_role(session, "park", "approver", DEPT, granted_by="admin")
        # the author, a reviewer too: four-eyes, not a missing role, stops their own review
        grant_role(session, "kim", "author", DEPT, granted_by="admin")
        grant_role(session, "kim", "reviewer", DEPT, granted_by="admin")
    return Cli(settings, tmp_path)


def test_draft_submit_review_approve_by_distinct_people(cli: Cli) -> None:
    out = cli.add(item("[UMS은행] {{ name }}님 안내"), "--actor", "kim", code=1)
    assert "approved only after review" in out  # the author cannot approve on adding
    assert "notice v1 written (draft)" in cli.add(item("[UMS은행] {{ name }}님 안내"), "--draft",
                                                  "--actor", "kim")  # fmt: skip
    assert "not reviewed" in cli("approve", "notice", "1", "--actor", "park", code=1)
    assert "notice v1 in review (submitted by kim)" in cli(
        "submit", "notice", "1", "--actor", "kim"
    )
    assert "'kim' wrote version 1" in cli("review", "notice", "1", "--actor", "kim", "--pass",
                                          code=1)  # fmt: skip
    assert "exactly one of --pass or --reject" in cli("review", "notice", "1", code=2)
    assert "notice v1 reviewed by lee" in cli("review", "notice", "1", "--actor", "lee", "--pass")
    out = cli("approve", "notice", "1", "--actor", "choi", code=1)
    assert "choi may not content.approve: it needs approver in department" in out
    assert "notice v1 approved by park" in cli("approve", "notice", "1", "--actor", "park")
    [listed] = json.loads(cli("list", "--json"))
    assert (listed["status"], listed["approved_version"]) == ("approved", 1)
    history = cli("history", "notice")
    for step in ("version_added", "submitted", "review_passed", "approved"):
        assert step in history


def test_a_blocked_submission_names_field_and_reason_masked(cli: Cli) -> None:
    cli.add(item("[UMS은행] {{ name }}님 적금 혜택", "advertising"), "--draft", "--actor", "kim")
    out = cli("submit", "notice", "1", "--actor", "kim", code=1)
    assert "blocks advertising AD_LABEL_MISSING: variants[sms] rendered" in out
    assert "AD_OPTOUT_MISSING" in out and "stays a draft: 2 blocking finding(s)" in out
    assert "v1 draft" in cli("list")
    cli.add(item("[UMS은행] {{ name }}님 연락처 010-2345-6789"), "--draft", "--actor", "kim")
    result = json.loads(cli("submit", "notice", "1", "--json", code=1).splitlines()[0])
    [finding] = result["findings"]
    assert (finding["code"], finding["field"]) == ("PHONE", "variants[sms].body")
    assert "010-2345-6789" not in json.dumps(result)
    assert "PHONE" in cli("history", "notice")


def test_a_rejection_shows_its_reason_to_the_author(cli: Cli) -> None:
    cli.add(item("[UMS은행] {{ name }}님 안내"), "--draft", "--actor", "kim")
    cli("submit", "notice", "1", "--actor", "kim")
    assert "'NOPE' is not one of" in cli(
        "review", "notice", "1", "--actor", "lee", "--reject", "NOPE", code=1
    )
    out = cli("review", "notice", "1", "--actor", "lee", "--reject", "FACTS", "--note", "기간 오류")
    assert "notice v1 rejected by lee: FACTS 금액·금리·기간 등 사실관계 오류" in out
    assert "FACTS: 금액·금리·기간 등 사실관계 오류" in cli("history", "notice", "--version", "1")
    assert "(기간 오류)" in cli("history", "notice")
    assert "v1 rejected" in cli("list")
    assert "notice v2 written (draft)" in cli.add(item("[UMS은행] {{ name }}님 새 안내"), "--draft")


def test_reasons_lists_the_managed_list(cli: Cli) -> None:
    rows = json.loads(cli("reasons", "--json"))
    codes = [r["code"] for r in rows]
    assert codes[:2] == ["AD_LABEL", "OPT_OUT"] and "OTHER" in codes
    assert all(r["ko"] and r["en"] for r in rows)
    assert "수신거부" in cli("reasons")
