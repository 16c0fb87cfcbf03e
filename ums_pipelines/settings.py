"""Runtime settings, read from the environment (``UMS_*``) when asked for, never at import."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ums_pipelines.settings_alerts import AlertSettings
from ums_pipelines.settings_calendar import CalendarSettings
from ums_pipelines.settings_compliance import ComplianceSettings
from ums_pipelines.settings_data import DataSettings
from ums_pipelines.settings_monitoring import MonitoringSettings
from ums_pipelines.settings_retention import OpensSettings, RetentionClassSettings
from ums_pipelines.settings_urgent import UrgentSettings

__all__ = ["Settings", "get_settings"]


class Settings(
    BaseSettings,
    ComplianceSettings,
    DataSettings,
    MonitoringSettings,
    CalendarSettings,
    RetentionClassSettings,
    OpensSettings,
    UrgentSettings,
    AlertSettings,
):
    """Where UMS keeps its data and which outside systems it talks to."""

    model_config = SettingsConfigDict(env_prefix="UMS_", extra="ignore")

    home: Path = Field(default=Path(".ums"), description="Root of all local UMS state.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the operational store; SQLite (WAL) under home if unset.",
    )
    timezone: str = Field(default="Asia/Seoul", description="Zone of every business rule.")
    gateway_url: str = Field(
        default="http://127.0.0.1:8900", description="Base URL of the provider gateway."
    )
    gateway_token: str = Field(default="sim-token", description="Bearer token for the gateway.")
    smtp_host: str = Field(default="127.0.0.1")
    smtp_port: int = Field(default=8925)
    report_recipients: list[str] = Field(
        default_factory=list,
        description="Addresses the weekly and monthly reports are mailed to (JSON list);"
        " empty: reports are written but not mailed.",
    )
    report_sender: str = Field(
        default="ums-reports@localhost", description="From address of the report mails."
    )
    apns_url: str = Field(
        default="http://127.0.0.1:8902",
        description="Base URL of the APNs provider API (HTTP/2; h2c prior knowledge on http).",
    )
    apns_token: str = Field(
        default="sim.apns.token", description="APNs provider token (a JWT, ES256-signed)."
    )
    apns_topic: str = Field(default="kr.example.umsbank", description="The app's bundle id.")
    intl_enabled: bool = Field(default=False, description="International sends are off by default.")
    intl_countries: str = Field(
        default="", description="Allowed destination countries, ISO alpha-2, comma-separated."
    )
    intl_cap_messages: int | None = Field(default=None, description="Monthly cap in messages.")
    intl_cap_krw: float | None = Field(default=None, description="Monthly cap in KRW.")
    prices_file: Path | None = Field(
        default=None,
        description="JSON {provider: {message_type: KRW}} overriding the default prices.",
    )
    mo_match_window_hours: float = Field(
        default=72.0,
        gt=0,
        description="An MO reply without a reference answers the latest message sent to"
        " its number from the bank number it went to, within this many hours.",
    )
    history_response_days: int = Field(
        default=7,
        ge=0,
        description="Contact history: a reply or an opt-out linked to no message counts as"
        " the response to the customer's latest contact within this many days before it.",
    )
    mo_keywords_file: Path | None = Field(
        default=None,
        description="JSON {keyword: {route, purpose?, channel?}} replacing the MO keyword"
        " table (e.g. 수신거부 -> opt_out).",
    )

    shortlink_base_url: str = Field(
        default="http://127.0.0.1:8950/",
        description="Base of every short link as written into a message's text (keep it"
        " short: it counts against the SMS bytes); the redirect service answers there.",
    )
    shortlink_ttl_days: int = Field(
        default=90, gt=0, description="A short link redirects for this many days after it is made."
    )
    feedback_url: str = Field(
        default="http://127.0.0.1:8950/feedback",
        description="The bank's customer feedback page, the target of a feedback link.",
    )
    shortlink_host: str = Field(
        default="127.0.0.1", description="Address the redirect service binds to."
    )
    shortlink_port: int = Field(
        default=8950, ge=1, le=65535, description="Port the redirect service listens on."
    )
    # Opt-out feeds (customers/optout_feeds.py, customers/unsubscribe.py): both secrets
    # come from the environment only, never a file in the repository.
    unsubscribe_secret: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 key of the e-mail one-click unsubscribe tokens (/u/{token}"
        " on the short-link server); unset: no token is made and /u/ answers 404.",
    )
    app_webhook_secret: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 key the bank's app signs POST /app/push-settings with;"
        " unset: the endpoint refuses every call (503).",
    )

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_home / 'ums.db'}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def inbox_dir(self) -> Path:
        return self.resolved_home / "inbox"

    @property
    def customer_inbox(self) -> Path:
        return self.inbox_dir / "customers"

    @property
    def targets_dir(self) -> Path:
        return self.resolved_home / "targets"

    @property
    def parquet_dir(self) -> Path:
        return self.resolved_home / "parquet"

    @property
    def analytics_path(self) -> Path:
        return self.resolved_home / "analytics" / "ums.duckdb"

    @property
    def archive_dir(self) -> Path:
        return self.resolved_home / "archive"

    @property
    def reports_dir(self) -> Path:
        return self.resolved_home / "reports"

    @property
    def dagster_home(self) -> Path:
        return self.resolved_home / "dagster"

    @property
    def content_dir(self) -> Path:
        return self.resolved_home / "content"

    @property
    def simulator_dir(self) -> Path:
        return self.resolved_home / "gateway-sim"


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment now, with explicit overrides winning."""
    return Settings(**overrides)  # type: ignore[arg-type]
