"""The alert rules: each a pure decision over numbers read from the store and ``now``.

``queries.py`` reads the inputs with windowed SQL; the functions here only compare them
with the rule's thresholds (``RuleConfig``, from the settings and the rules file), so
each rule is tested case by case without a database. A rule returns one ``Finding`` per
subject whose condition holds now; an alert whose subject is not found again clears.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "RULES",
    "AgentBeat",
    "BudgetUse",
    "Finding",
    "Outcomes",
    "QuotaUse",
    "RuleConfig",
    "Severity",
    "SubjectOverride",
    "Waiting",
    "agent_loss",
    "backlog_age",
    "budget_threshold",
    "error_burst",
    "quota_threshold",
    "receipts_missing",
    "success_rate_drop",
]

Severity = Literal["warning", "critical"]

# rule name -> what its threshold means (the CLI and docs/operations.md show these).
RULES: dict[str, str] = {
    "success_rate_drop": "delivered/(delivered+failed) per provider/channel over window_s"
    " below threshold, with at least min_sample outcomes",
    "error_burst": "failures per provider within window_s (60 s) at or above threshold",
    "backlog_age": "oldest message waiting in a lane older than threshold seconds",
    "agent_loss": "a running agent's heartbeat older than its lease plus threshold seconds",
    "receipts_missing": "messages accepted threshold seconds ago or more with no final"
    " receipt, at least min_sample of them per provider",
    "budget_threshold": "a department's spent + committed at or above threshold % of its"
    " month's budget",
    "quota_threshold": "a provider's use of its hourly or daily cap at or above threshold %",
}


class SubjectOverride(BaseModel):
    """Per-subject values (a provider/channel, a lane, a department) over the rule's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool | None = None
    threshold: float | None = None
    min_sample: int | None = Field(default=None, ge=1)


class RuleConfig(BaseModel):
    """One rule's switches and thresholds; ``threshold`` None: no subject is watched
    unless an override names one (backlog lanes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    severity: Severity = "warning"
    threshold: float | None = None
    window_s: int = Field(default=300, ge=1)
    min_sample: int = Field(default=1, ge=1)
    subjects: dict[str, SubjectOverride] = Field(default_factory=dict)

    def for_subject(self, subject: str) -> tuple[bool, float | None, int]:
        """(enabled, threshold, min_sample) of one subject."""
        over = self.subjects.get(subject, SubjectOverride())
        enabled = self.enabled if over.enabled is None else over.enabled
        threshold = self.threshold if over.threshold is None else over.threshold
        sample = self.min_sample if over.min_sample is None else over.min_sample
        return enabled and threshold is not None, threshold, sample


@dataclass(frozen=True)
class Finding:
    """A condition that holds now: alert ``rule:subject`` is (or stays) raised."""

    rule: str
    subject: str
    severity: Severity
    summary: str  # one line, no personal data: on-call SMS text
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.subject}"


@dataclass(frozen=True)
class Outcomes:
    provider: str
    channel: str
    delivered: int
    failed: int


@dataclass(frozen=True)
class Waiting:
    """Messages of a lane not sent yet, and the oldest one's creation."""

    lane: str
    count: int
    oldest: datetime


@dataclass(frozen=True)
class AgentBeat:
    agent_id: str
    heartbeat_at: datetime
    lease_seconds: int


@dataclass(frozen=True)
class BudgetUse:
    department: str
    month: str
    budget: Decimal
    used: Decimal  # spent + committed


@dataclass(frozen=True)
class QuotaUse:
    provider: str
    period: Literal["hour", "day"]
    used: int
    cap: int


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def success_rate_drop(rows: Iterable[Outcomes], cfg: RuleConfig) -> list[Finding]:
    found = []
    for r in rows:
        subject = f"{r.provider}/{r.channel}"
        enabled, threshold, sample = cfg.for_subject(subject)
        total = r.delivered + r.failed
        if not enabled or threshold is None or total < sample or total == 0:
            continue
        rate = r.delivered / total
        if rate < threshold:
            summary = (
                f"success rate {subject} {_pct(rate * 100)} < {_pct(threshold * 100)}"
                f" ({r.failed}/{total} failed, {cfg.window_s // 60 or 1} min)"
            )
            details = {"provider": r.provider, "channel": r.channel, "delivered": r.delivered,
                       "failed": r.failed, "rate": round(rate, 4), "threshold": threshold,
                       "window_s": cfg.window_s}  # fmt: skip
            found.append(Finding("success_rate_drop", subject, cfg.severity, summary, details))
    return found


def error_burst(failures: Mapping[str, int], cfg: RuleConfig) -> list[Finding]:
    found = []
    for provider, count in sorted(failures.items()):
        enabled, threshold, _ = cfg.for_subject(provider)
        if enabled and threshold is not None and count >= threshold:
            summary = f"error burst {provider}: {count} failures in {cfg.window_s} s"
            details = {"failures": count, "threshold": threshold, "window_s": cfg.window_s}
            found.append(Finding("error_burst", provider, cfg.severity, summary, details))
    return found


def backlog_age(waiting: Iterable[Waiting], cfg: RuleConfig, now: datetime) -> list[Finding]:
    found = []
    for w in waiting:
        enabled, threshold, _ = cfg.for_subject(w.lane)
        age = (now - w.oldest).total_seconds()
        if enabled and threshold is not None and w.count > 0 and age > threshold:
            summary = f"backlog {w.lane}: oldest waiting {int(age)} s > {int(threshold)} s"
            details = {"lane": w.lane, "waiting": w.count, "oldest_age_s": int(age),
                       "threshold_s": threshold}  # fmt: skip
            found.append(Finding("backlog_age", w.lane, cfg.severity, summary, details))
    return found


def agent_loss(agents: Iterable[AgentBeat], cfg: RuleConfig, now: datetime) -> list[Finding]:
    found = []
    for a in agents:
        enabled, grace, _ = cfg.for_subject(a.agent_id)
        silent = (now - a.heartbeat_at).total_seconds()
        if enabled and grace is not None and silent > a.lease_seconds + grace:
            summary = f"agent {a.agent_id} lost: no heartbeat for {int(silent)} s"
            details = {"agent_id": a.agent_id, "silent_s": int(silent),
                       "lease_s": a.lease_seconds}  # fmt: skip
            found.append(Finding("agent_loss", a.agent_id, cfg.severity, summary, details))
    return found


def receipts_missing(
    missing: Mapping[str, tuple[int, datetime]], cfg: RuleConfig, now: datetime
) -> list[Finding]:
    """``missing``: provider -> (messages accepted before now - threshold and still
    without a final receipt, the oldest one's submission)."""
    found = []
    for provider, (count, oldest) in sorted(missing.items()):
        enabled, after_s, sample = cfg.for_subject(provider)
        if not enabled or after_s is None or count < sample:
            continue
        age = (now - oldest).total_seconds()
        if age >= after_s:
            summary = (
                f"receipts missing {provider}: {count} messages without receipt > {int(after_s)} s"
            )
            details = {"provider": provider, "messages": count, "oldest_age_s": int(age),
                       "threshold_s": after_s}  # fmt: skip
            found.append(Finding("receipts_missing", provider, cfg.severity, summary, details))
    return found


def budget_threshold(uses: Iterable[BudgetUse], cfg: RuleConfig) -> list[Finding]:
    found = []
    for u in uses:
        enabled, pct, _ = cfg.for_subject(u.department)
        if not enabled or pct is None or u.budget <= 0:
            continue
        share = float(u.used / u.budget * 100)
        if share >= pct:
            summary = f"budget {u.department} {u.month}: {_pct(share)} used (>= {_pct(pct)})"
            details = {"department": u.department, "month": u.month, "budget": str(u.budget),
                       "used": str(u.used), "pct": round(share, 2)}  # fmt: skip
            found.append(Finding("budget_threshold", u.department, cfg.severity, summary, details))
    return found


def quota_threshold(uses: Sequence[QuotaUse], cfg: RuleConfig) -> list[Finding]:
    found = []
    for u in uses:
        subject = f"{u.provider}/{u.period}"
        enabled, pct, _ = cfg.for_subject(subject)
        if not enabled or pct is None or u.cap <= 0:
            continue
        share = u.used / u.cap * 100
        if share >= pct:
            summary = f"quota {subject}: {u.used}/{u.cap} ({_pct(share)}) used"
            details = {"provider": u.provider, "period": u.period, "used": u.used,
                       "cap": u.cap, "pct": round(share, 2)}  # fmt: skip
            found.append(Finding("quota_threshold", subject, cfg.severity, summary, details))
    return found
