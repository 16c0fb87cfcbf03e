"""Runtime settings, read from the environment (``UMS_*``) when asked for, never at import."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


def _caps_of(**caps: int | None) -> dict[str, int | None]:
    return caps


class Settings(BaseSettings):
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
    approval_threshold: int = Field(
        default=10_000,
        ge=0,
        description="A bulk job with more targets than this needs the department head's"
        " approval (four-eyes); every advertising job needs it whatever its size.",
    )
    realtime_ad_approval: bool = Field(
        default=True,
        description="Real-time advertising (a standing job of an advertising template)"
        " is sent only after the owning department head approved that standing job,"
        " once per content version, routes and sender.",
    )

    # Stage checks after target extraction (compliance.stages): a block stops the job
    # from being approved or sent until it is fixed or an approver acknowledges it.
    plan_deviation_warn: float = Field(
        default=0.2,
        ge=0,
        description="|targets - planned| / planned above this flags a warning.",
    )
    plan_deviation_block: float = Field(
        default=0.5,
        ge=0,
        description="|targets - planned| / planned above this blocks the job.",
    )
    budget_required: bool = Field(
        default=False,
        description="A department without a budget row for the month is blocked (false:"
        " such a department's jobs are not checked against a budget).",
    )

    # The advertising night rule (Information and Communications Network Act art. 50),
    # in Korea time (``timezone``): compliance.night holds what may not go until the end.
    ad_night_start: time = Field(
        default=time(21, 0),
        description="From this time an advertisement goes only to a customer with a night"
        " consent for its channel (consent purpose night_ad); others are held, not dropped.",
    )
    ad_night_end: time = Field(
        default=time(8, 0), description="The advertising night ends: held messages go from here."
    )
    friendtalk_night_start: time = Field(
        default=time(20, 0),
        description="No FriendTalk or brand message from this time, whatever the consent"
        " (check: some sources say 20:50).",
    )
    friendtalk_night_end: time = Field(
        default=time(8, 0), description="FriendTalk and brand messages may go again from here."
    )
    night_send_margin_s: float = Field(
        default=5.0,
        ge=0,
        le=600,
        description="A send checked this close before a ban begins is held too: the request"
        " may reach the provider after the boundary.",
    )

    # The other advertising rules of art. 50 (compliance.adrules, compliance.brandlimit).
    ad_consent_valid_days: int = Field(
        default=730,
        gt=0,
        description="An advertising consent counts for this many days after it was given"
        " (reconfirmed every 2 years); an older one is no consent (reason consent_expired).",
    )
    ad_transaction_exception: bool = Field(
        default=True,
        description="Customers of an actual transaction may get advertising of the same kind"
        " of goods (jobs.product_kind) without consent, for ad_transaction_exception_days.",
    )
    ad_transaction_exception_days: int = Field(
        default=183,
        ge=0,
        description="The exception's 6 months, in days: half a year (365 / 2, rounded up)."
        " Six calendar months run 181 to 184 days; set 181 to never pass the shortest.",
    )
    ad_reconfirm_notice_days: int = Field(
        default=30,
        gt=0,
        description="A reconfirmation notice goes this many days before an advertising"
        " consent reaches ad_consent_valid_days.",
    )
    brand_daily_limit: int = Field(
        default=1,
        ge=0,
        description="Brand messages (Kakao) per recipient per Korea-time day; one over it is"
        " not sent: failed with E-BRAND-DAILY, and the chain's next channel takes it.",
    )
    # Frequency caps (bank policy, not law; compliance/frequency.py): purpose -> most
    # messages per customer; a purpose absent or null is not capped.
    freq_cap_day: dict[str, int | None] = Field(
        default_factory=lambda: _caps_of(advertising=1),
        description='JSON {"purpose": max}: messages of a purpose per customer per Korea-time'
        " day across channels; a customer at it is suppressed (frequency_cap) at target"
        " extraction. Urgent-lane jobs and auth messages are exempt.",
    )
    freq_cap_week: dict[str, int | None] = Field(
        default_factory=lambda: _caps_of(advertising=3),
        description='JSON {"purpose": max}: the same over the 7 Korea-time days ending on'
        " the job's send day (a rolling week).",
    )
    suppress_duplicate_recipients: bool = Field(
        default=True,
        description="Within one job, a customer whose first-channel contact another target"
        " already has is suppressed (duplicate_recipient); off, the stage check only warns.",
    )
    optout_confirm_template: str | None = Field(
        default=None,
        description="Informational template the daily schedule sends opt-out confirmations"
        " with (within 14 days); unset, the schedule skips and ums optout due shows them.",
    )
    consent_reconfirm_template: str | None = Field(
        default=None,
        description="Informational template the daily schedule sends the 2-year advertising"
        " consent reconfirmation notices with; unset, the schedule skips.",
    )

    content_review_required: bool = Field(
        default=True,
        description="A content version is approved only after review (four-eyes on content).",
    )
    content_review_exempt_departments: list[str] = Field(
        default_factory=list,
        description="Departments whose content is approved without review (JSON list).",
    )
    content_rejection_reasons_file: Path | None = Field(
        default=None,
        description='JSON {"CODE": {"ko": ..., "en": ...}} adding or rewording rejection reasons'
        " (older name of UMS_REJECTION_REASONS_FILE; both are read).",
    )
    rejection_reasons_file: Path | None = Field(
        default=None,
        description='JSON {"CODE": {"ko": ..., "en": ...}} adding or rewording the rejection'
        " reasons of content review and job approval (compliance.reasons).",
    )

    # The bank's internal review-and-approval system (compliance.review_hook).
    review_url: str | None = Field(
        default=None,
        description="URL the review requests are POSTed to (HMAC-signed); unset: requests"
        " are written as files into review_outbox_dir.",
    )
    review_secret: str | None = Field(
        default=None,
        description="HMAC-SHA256 key signing requests and verifying callbacks; from the"
        " environment (UMS_REVIEW_SECRET) only, never a file in the repository.",
    )
    review_outbox_dir: Path | None = Field(
        default=None, description="Where request files go; default UMS_HOME/review/outbox."
    )
    review_inbox_dir: Path | None = Field(
        default=None, description="Where decision files arrive; default UMS_HOME/review/inbox."
    )
    review_trust_external: bool = Field(
        default=False,
        description="An approval from the review system counts even when its approver holds"
        " no approver role in UMS; by default they must hold it for the job's department.",
    )
    review_hook_host: str = Field(default="127.0.0.1", description="Callback server address.")
    review_hook_port: int = Field(
        default=8960, ge=1, le=65535, description="Port the review callback server listens on."
    )

    change_layouts: dict[str, Path] = Field(
        default_factory=dict,
        description='JSON {"glob": "layout.yaml"}: customer change files whose name matches'
        " the glob are fixed-width records read with that layout (relative paths are under"
        " UMS_HOME; first match wins); see docs/customer-sync.md.",
    )

    # A source database table of customer changes, read incrementally (docs/customer-sync.md).
    customer_source_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL of the source database of customer changes; from the"
        " environment only (it holds a password), never logged unmasked.",
    )
    customer_source_table: str | None = Field(
        default=None,
        description="Table (or schema.table) of customer changes in the source database.",
    )
    customer_source_cursor_column: str = Field(
        default="changed_at",
        description="Update cursor of the source table: a value that grows with every change.",
    )
    customer_source_columns: dict[str, str] = Field(
        default_factory=dict,
        description='JSON {"contract column": "source column"}; unmapped contract columns'
        " are read from the source column of the same name.",
    )
    customer_source_page_size: int = Field(
        default=5000, ge=1, le=100_000, description="Source rows read and applied per page."
    )
    staff_directory: Path | None = Field(
        default=None,
        description="YAML or CSV staff directory, the only source of test-send recipients"
        " (relative paths are under UMS_HOME); see docs/test-sends.md.",
    )
    segment_row_limit: int = Field(
        default=5_000_000,
        ge=1,
        description="A segment query returning more customer ids than this is refused.",
    )
    segment_timeout_s: float = Field(
        default=60.0, gt=0, description="A segment query running longer is interrupted."
    )

    # Retention (ums_pipelines/retention, docs/retention.md): days after a message's
    # creation (Korea-time days) before each data class is purged.
    retention_message_content_days: int = Field(
        default=365,
        gt=0,
        description="Recipient address, subject, body, HTML body, payload and error text of"
        " a message are redacted after this many days (the row and its counts stay).",
    )
    retention_delivery_events_days: int = Field(
        default=365, gt=0, description="Delivery events are deleted after this many days."
    )
    retention_message_rows_days: int = Field(
        default=1825,
        gt=0,
        description="Message rows are deleted after this many days (5 years: records of"
        " electronic financial transactions); the analytics copy keeps them without the"
        " customer id, so aggregates stay.",
    )
    retention_audit_days: int = Field(
        default=1825,
        description="Audit log rows older than this are archived and deleted; never below"
        " 730 (access and processing logs are kept at least 2 years).",
    )
    retention_notice_hours: float = Field(
        default=24.0,
        ge=0,
        description="A purge runs only for a plan recorded at least this many hours earlier.",
    )

    @field_validator("retention_audit_days")
    @classmethod
    def _audit_minimum(cls, value: int) -> int:
        if value < 730:
            raise ValueError(
                f"retention_audit_days: {value} is below the legal minimum of 730 days"
                " (access and processing logs are kept at least 2 years)"
            )
        return value

    @field_validator("freq_cap_day", "freq_cap_week")
    @classmethod
    def _caps(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        for purpose, cap in value.items():
            if purpose not in ("informational", "advertising"):
                raise ValueError(
                    f"{purpose!r}: a cap is set per purpose, informational or advertising"
                    " (authentication messages are never capped)"
                )
            if cap is not None and cap < 0:
                raise ValueError(f"{purpose!r}: {cap} must be 0 or more (null: no cap)")
        return value

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
