"""The MO keyword table: normalisation, matching, and a table from a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ums_pipelines.contact.keywords import (
    DEFAULT_KEYWORDS,
    KeywordRule,
    load_keywords,
    match,
    normalise,
)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("수신거부", "수신거부"),
        ("수 신 거 부", "수신거부"),
        ("수신-거부!", "수신거부"),
        (" 수신거부합니다", "수신거부"),
        ("거부", "거부"),
        ("광고거부", "광고거부"),  # the longest keyword wins over 거부
        ("광고 거부요", "광고거부"),
        ("stop", "STOP"),
        ("ＳＴＯＰ", "STOP"),  # full-width letters
        ("Stop.", "STOP"),
        ("080", "080"),
        ("080-123-4567", "080"),
        ("지점 위치가 어디인가요?", None),
        ("네 감사합니다", None),
        ("수신 동의", None),
        ("!!!", None),
        ("", None),
    ],
)
def test_match(text: str, keyword: str | None) -> None:
    rule = match(text)
    assert (rule.keyword if rule else None) == keyword


def test_only_advertising_keywords_fix_a_purpose() -> None:
    purposes = {r.keyword: r.purpose for r in DEFAULT_KEYWORDS}
    assert purposes == {
        "수신거부": None,
        "거부": None,
        "광고거부": "advertising",
        "STOP": None,
        "080": None,
    }
    assert all(r.route == "opt_out" and r.channel is None for r in DEFAULT_KEYWORDS)


@pytest.mark.parametrize(("raw", "normal"), [("a b-c", "ABC"), ("수 신\t거부.", "수신거부")])
def test_normalise(raw: str, normal: str) -> None:
    assert normalise(raw) == normal


def test_a_table_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "keywords.json"
    table = {"문자거부": {"route": "opt_out", "channel": "sms"}, "상담": "care"}
    path.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    rules = load_keywords(path)
    assert rules == (
        KeywordRule("문자거부", "opt_out", None, "sms"),
        KeywordRule("상담", "care", None, None),
    )
    rule = match("문자 거부", rules)
    assert rule is not None and rule.channel == "sms"
    assert match("수신거부", rules) is None  # the file replaces the default table
    assert load_keywords(None) == DEFAULT_KEYWORDS


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "cannot read"),
        ("[]", "non-empty JSON object"),
        ('{"거부": {"route": "delete"}}', "route must be one of"),
        ('{"거부": {"purpose": "marketing"}}', "purpose must be one of"),
        ('{"거부": {"colour": "red"}}', "unknown field"),
        ('{"거부": {"channel": 3}}', "channel must be a string"),
        ('{"!!": "opt_out"}', "expected a rule"),
    ],
)
def test_bad_tables_name_the_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "keywords.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=problem) as caught:
        load_keywords(path)
    assert "mo_keywords_file" in str(caught.value)
