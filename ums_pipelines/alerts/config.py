"""The rule set in force: defaults from the settings, overridden by the rules file.

A rules file (``UMS_ALERT_RULES_FILE``, YAML or JSON) names rules and what changes::

    rules:
      success_rate_drop: {threshold: 0.95, window_s: 600,
                          subjects: {"sim-fcm/push": {threshold: 0.8}}}
      backlog_age: {subjects: {urgent: {threshold: 30}}}
      agent_loss: {enabled: false}

A key it sets replaces the setting's value; ``subjects`` are merged per subject.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ums_pipelines.alerts.rules import RULES, RuleConfig
from ums_pipelines.settings import Settings

__all__ = ["AlertConfigError", "RuleSet", "load_rules"]


class AlertConfigError(ValueError):
    """The rules file is unreadable or invalid; the message names the rule and field."""


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    success_rate_drop: RuleConfig
    error_burst: RuleConfig
    backlog_age: RuleConfig
    agent_loss: RuleConfig
    receipts_missing: RuleConfig
    budget_threshold: RuleConfig
    quota_threshold: RuleConfig

    def get(self, name: str) -> RuleConfig:
        value: RuleConfig = getattr(self, name)
        return value


def _defaults(settings: Settings) -> dict[str, dict[str, Any]]:
    lanes = {lane: {"threshold": s} for lane, s in settings.alert_backlog_age_s.items()}
    return {
        "success_rate_drop": {
            "threshold": settings.alert_success_threshold,
            "window_s": settings.alert_success_window_s,
            "min_sample": settings.alert_success_min_sample,
            "severity": "critical",
        },
        "error_burst": {
            "threshold": settings.alert_burst_failures_per_min,
            "window_s": 60,
            "severity": "critical",
        },
        "backlog_age": {"threshold": None, "subjects": lanes},
        "agent_loss": {"threshold": 0, "severity": "critical"},
        "receipts_missing": {"threshold": settings.alert_receipts_missing_s},
        "budget_threshold": {"threshold": settings.alert_budget_pct},
        "quota_threshold": {"threshold": settings.alert_quota_pct},
    }


def _read(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except (OSError, yaml.YAMLError) as exc:
        raise AlertConfigError(f"alert_rules_file: cannot read {path}: {exc}") from None
    rules = loaded.get("rules") if isinstance(loaded, dict) else None
    if not isinstance(rules, dict):
        raise AlertConfigError("alert_rules_file: needs a mapping 'rules: {rule: {...}}'")
    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        raise AlertConfigError(
            f"alert_rules_file: unknown rule(s) {', '.join(map(str, unknown))};"
            f" known: {', '.join(RULES)}"
        )
    for name, body in rules.items():
        if not isinstance(body, dict):
            raise AlertConfigError(f"alert_rules_file: rules.{name} must be a mapping")
    return rules


def load_rules(settings: Settings) -> RuleSet:
    """The rules in force now (the file is read on every call: edits apply next tick)."""
    merged = _defaults(settings)
    if settings.alert_rules_file is not None:
        path = settings.alert_rules_file
        path = path if path.is_absolute() else settings.resolved_home / path
        for name, body in _read(path).items():
            subjects = {**merged[name].get("subjects", {}), **(body.get("subjects") or {})}
            merged[name] = {**merged[name], **body, "subjects": subjects}
    try:
        return RuleSet.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise AlertConfigError(f"rules.{where}: {first['msg']}") from None
