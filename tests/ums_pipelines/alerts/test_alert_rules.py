"""Each rule as a pure decision over its inputs and ``now`` (no store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ums_pipelines.alerts import rules
from ums_pipelines.alerts.config import AlertConfigError, load_rules
from ums_pipelines.alerts.rules import RuleConfig, SubjectOverride
from ums_pipelines.settings import Settings

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def _ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("delivered", "failed", "raised"),
    [
        (70, 30, True),  # 70 % < 90 %
        (90, 10, False),  # exactly the threshold is not below it
        (89, 11, True),
        (7, 3, False),  # 10 outcomes: under the minimum sample
        (0, 0, False),
    ],
)
def test_success_rate_drop(delivered: int, failed: int, raised: bool) -> None:
    cfg = RuleConfig(threshold=0.9, min_sample=50, window_s=300)
    found = rules.success_rate_drop([rules.Outcomes("sim-fcm", "push", delivered, failed)], cfg)
    assert bool(found) is raised
    if raised:
        assert found[0].key == "success_rate_drop:sim-fcm/push"
        assert found[0].details["failed"] == failed


def test_success_rate_subject_override_and_switch_off() -> None:
    cfg = RuleConfig(
        threshold=0.9,
        min_sample=10,
        subjects={
            "sim-fcm/push": SubjectOverride(threshold=0.6),
            "sim-smtp/email": SubjectOverride(enabled=False),
        },
    )
    rows = [
        rules.Outcomes("sim-fcm", "push", 70, 30),  # 70 % >= its own 60 %
        rules.Outcomes("sim-smtp", "email", 0, 50),  # switched off
        rules.Outcomes("sim-sms", "sms", 80, 20),
    ]
    assert [f.subject for f in rules.success_rate_drop(rows, cfg)] == ["sim-sms/sms"]


@pytest.mark.parametrize(("failures", "raised"), [(199, False), (200, True), (1000, True)])
def test_error_burst(failures: int, raised: bool) -> None:
    cfg = RuleConfig(threshold=200, window_s=60)
    assert bool(rules.error_burst({"sim-kakao": failures}, cfg)) is raised


@pytest.mark.parametrize(
    ("lane", "age", "count", "raised"),
    [
        ("urgent", 61, 1, True),
        ("urgent", 60, 1, False),
        ("marketing", 3000, 500, False),  # its own, longer limit
        ("informational", 10_000, 0, False),  # nothing waiting
        ("auth", 10_000, 3, False),  # not watched: no threshold
    ],
)
def test_backlog_age(lane: str, age: int, count: int, raised: bool) -> None:
    cfg = RuleConfig(
        threshold=None,
        subjects={
            "urgent": SubjectOverride(threshold=60),
            "marketing": SubjectOverride(threshold=3600),
            "informational": SubjectOverride(threshold=600),
        },
    )
    found = rules.backlog_age([rules.Waiting(lane, count, _ago(age))], cfg, NOW)
    assert bool(found) is raised


@pytest.mark.parametrize(
    ("silent", "grace", "raised"), [(29, 0, False), (31, 0, True), (31, 5, False)]
)
def test_agent_loss(silent: int, grace: int, raised: bool) -> None:
    cfg = RuleConfig(threshold=grace)
    found = rules.agent_loss([rules.AgentBeat("agent-1", _ago(silent), 30)], cfg, NOW)
    assert bool(found) is raised


@pytest.mark.parametrize(
    ("count", "oldest_age", "raised"), [(1, 1800, True), (1, 1799, False), (0, 5000, False)]
)
def test_receipts_missing(count: int, oldest_age: int, raised: bool) -> None:
    cfg = RuleConfig(threshold=1800)
    found = rules.receipts_missing({"sim-sms": (count, _ago(oldest_age))}, cfg, NOW)
    assert bool(found) is raised


@pytest.mark.parametrize(
    ("budget", "used", "raised"),
    [("1000000", "900000", True), ("1000000", "899999", False), ("0", "5", False)],
)
def test_budget_threshold(budget: str, used: str, raised: bool) -> None:
    cfg = RuleConfig(threshold=90.0)
    use = rules.BudgetUse("retail", "2026-11", Decimal(budget), Decimal(used))
    assert bool(rules.budget_threshold([use], cfg)) is raised


@pytest.mark.parametrize(
    ("period", "used", "cap", "raised"),
    [("hour", 900, 1000, True), ("hour", 899, 1000, False), ("day", 10, 0, False)],
)
def test_quota_threshold(period: str, used: int, cap: int, raised: bool) -> None:
    cfg = RuleConfig(threshold=90.0)
    found = rules.quota_threshold([rules.QuotaUse("sim-sms", period, used, cap)], cfg)  # type: ignore[arg-type]
    assert bool(found) is raised
    if raised:
        assert found[0].key == f"quota_threshold:sim-sms/{period}"


def test_rules_file_overrides_settings(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  success_rate_drop: {threshold: 0.95, subjects: {'sim-fcm/push': {threshold: 0.5}}}\n"
        "  backlog_age: {subjects: {urgent: {threshold: 5}}}\n"
        "  agent_loss: {enabled: false}\n",
        encoding="utf-8",
    )
    ruleset = load_rules(Settings(home=tmp_path, alert_rules_file=path))
    assert ruleset.success_rate_drop.threshold == 0.95
    assert ruleset.success_rate_drop.min_sample == 50  # the setting's, not overridden
    assert ruleset.success_rate_drop.subjects["sim-fcm/push"].threshold == 0.5
    assert ruleset.backlog_age.subjects["urgent"].threshold == 5
    assert ruleset.backlog_age.subjects["marketing"].threshold == 3600  # merged, kept
    assert ruleset.agent_loss.enabled is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  no_such_rule: {}\n", "unknown rule"),
        ("rules:\n  error_burst: {threshold: [1]}\n", r"rules\.error_burst\.threshold"),
        ("rules:\n  error_burst: {windows: 5}\n", r"rules\.error_burst\.windows"),
        ("- a\n", "needs a mapping"),
    ],
)
def test_a_bad_rules_file_names_the_rule_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AlertConfigError, match=message):
        load_rules(Settings(home=tmp_path, alert_rules_file=path))
