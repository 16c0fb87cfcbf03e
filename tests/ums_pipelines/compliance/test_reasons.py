"""The one managed list of rejection reasons: content review and job approval share it,
the file setting (new and old names) extends it, and a rejection must name a listed code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.compliance import approvals
from ums_pipelines.compliance.reasons import REJECTION_REASONS, check_reason, rejection_reasons
from ums_pipelines.content import review_policy
from ums_pipelines.settings import Settings


def _file(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_content_review_and_job_approval_read_one_list() -> None:
    assert review_policy.REJECTION_REASONS is REJECTION_REASONS
    assert approvals.REJECTION_REASONS is REJECTION_REASONS
    assert review_policy.rejection_reasons is rejection_reasons
    # Codes of both former lists are kept, so old decisions still name a listed reason.
    assert {"AD_LABEL", "TONE", "FACTS", "AD_RULES", "TARGETS", "BUDGET", "OTHER"} <= set(
        REJECTION_REASONS
    )
    for reason in REJECTION_REASONS.values():
        assert reason.ko.strip() and reason.en.strip(), reason.code


def test_the_new_and_the_old_file_setting_both_extend_it(tmp_path: Path) -> None:
    shown = {"RATE": {"ko": "금리 표기 오류", "en": "rate shown wrongly"}}
    old = _file(tmp_path, "old.json", shown)
    new = _file(
        tmp_path,
        "new.json",
        {"RATE": {"ko": "금리 오류", "en": "rate wrong"}, "LATE": {"ko": "늦음", "en": "late"}},
    )
    assert rejection_reasons(Settings(content_rejection_reasons_file=old))["RATE"].en == (
        "rate shown wrongly"
    )
    both = rejection_reasons(
        Settings(content_rejection_reasons_file=old, rejection_reasons_file=new)
    )
    assert both["RATE"].en == "rate wrong"  # the new setting is read last
    assert both["LATE"].text == "늦음 / late"
    assert "LATE" not in REJECTION_REASONS  # the built-in list is not changed


def test_a_bad_file_is_refused_naming_the_setting(tmp_path: Path) -> None:
    bad = _file(tmp_path, "bad.json", {"RATE": {"ko": "", "en": "x"}})
    with pytest.raises(ValueError, match=r"rejection_reasons_file: .*RATE: needs non-empty"):
        rejection_reasons(Settings(rejection_reasons_file=bad))
    with pytest.raises(ValueError, match="cannot be read as JSON"):
        rejection_reasons(Settings(rejection_reasons_file=tmp_path / "missing.json"))


def test_check_reason_names_the_field() -> None:
    settings = Settings()
    assert check_reason("TONE", None, settings).code == "TONE"
    with pytest.raises(ValueError, match="reason_code: a rejection needs one of"):
        check_reason(None, None, settings)
    with pytest.raises(ValueError, match="reason: 'NOPE' is not one of"):
        check_reason("NOPE", None, settings, field="reason")
    with pytest.raises(ValueError, match="note: a rejection for OTHER needs a note"):
        check_reason("OTHER", "  ", settings)
    assert check_reason("OTHER", "see the memo", settings).code == "OTHER"


def test_both_commands_show_the_same_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = _file(tmp_path, "extra.json", {"RATE": {"ko": "금리 오류", "en": "rate wrong"}})
    monkeypatch.setenv("UMS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("UMS_REJECTION_REASONS_FILE", str(extra))
    monkeypatch.setenv("COLUMNS", "300")
    runner = CliRunner()
    content = runner.invoke(app, ["content", "reasons", "--json"])
    assert content.exit_code == 0, content.output
    codes = [row["code"] for row in json.loads(content.output)]
    assert "RATE" in codes and set(REJECTION_REASONS) <= set(codes)
    approval = runner.invoke(app, ["approval", "reasons"])
    assert approval.exit_code == 0, approval.output
    for code in codes:
        assert code in approval.output
    assert "rate wrong" in approval.output
