"""Alert settings: rule thresholds, repeat interval, the webhook and the alert sender.

A mixin of :class:`ums_pipelines.settings.Settings` (env variables ``UMS_<FIELD>``). A
rules file (``UMS_ALERT_RULES_FILE``) overrides the thresholds per rule and subject;
see ``ums_pipelines/alerts/config.py`` and docs/operations.md ("Alerts").
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

__all__ = ["AlertSettings"]


class AlertSettings(BaseModel):
    """What raises an alert, how often it is repeated and where it goes."""

    alert_rules_file: Path | None = Field(
        default=None,
        description="YAML or JSON file of rule overrides (enabled, thresholds per rule and"
        " subject); relative paths are under UMS_HOME. Unset: the settings below.",
    )
    alert_eval_interval_s: int = Field(
        default=20,
        ge=15,
        le=300,
        description="How often the alerts sensor evaluates the rules (its ticks come every"
        " 15 s at most; it skips until this much time has passed since its last evaluation).",
    )
    alert_repeat_interval_s: int = Field(
        default=1800,
        ge=1,
        description="A raised alert is notified again this often while it lasts, never sooner.",
    )
    alert_success_window_s: int = Field(
        default=300, ge=10, description="Sliding window of the success-rate rule."
    )
    alert_success_min_sample: int = Field(
        default=50,
        ge=1,
        description="Final outcomes (delivered + failed) a provider/channel needs in the"
        " window before its success rate is judged.",
    )
    alert_success_threshold: float = Field(
        default=0.9,
        gt=0.0,
        le=1.0,
        description="delivered / (delivered + failed) below this raises success_rate_drop.",
    )
    alert_burst_failures_per_min: int = Field(
        default=200,
        ge=1,
        description="Failures of one provider within the last 60 s that raise error_burst.",
    )
    alert_backlog_age_s: dict[str, int] = Field(
        default_factory=lambda: {
            "urgent": 60,
            "auth": 60,
            "transactional": 300,
            "informational": 1800,
            "marketing": 3600,
        },
        description="JSON {lane: seconds}: the oldest message waiting to be sent in a lane"
        " older than this raises backlog_age; a lane not named is not watched.",
    )
    alert_receipts_missing_s: int = Field(
        default=1800,
        ge=1,
        description="Messages submitted/accepted this long ago with no final receipt raise"
        " receipts_missing (per provider).",
    )
    alert_budget_pct: float = Field(
        default=90.0,
        gt=0.0,
        description="A department's spent + committed share of its month's budget at or above"
        " this percentage raises budget_threshold.",
    )
    alert_quota_pct: float = Field(
        default=90.0,
        gt=0.0,
        description="A provider's use of its hourly cap (provider_buckets.per_hour) or of its"
        " daily cap (UMS_ALERT_PROVIDER_DAILY_CAPS) at or above this percentage raises"
        " quota_threshold.",
    )
    alert_provider_daily_caps: dict[str, int] = Field(
        default_factory=dict,
        description="JSON {provider: messages per Korea-time day}: the contracted daily caps"
        " watched by quota_threshold.",
    )
    alert_webhook_url: str | None = Field(
        default=None, description="Where every alert notification is POSTed as JSON; unset: off."
    )
    alert_webhook_secret: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 key of the X-UMS-Signature header (environment only).",
    )
    alert_webhook_attempts: int = Field(
        default=4, ge=1, le=10, description="Tries per webhook delivery before it is failed."
    )
    alert_webhook_timeout_s: float = Field(
        default=5.0, gt=0.0, description="Timeout of one webhook request."
    )
    alert_sender_number: str | None = Field(
        default=None,
        description="Caller number of on-call SMS; unset: the first active registered number.",
    )
