"""Data settings: where customer data comes from (change files, a source database, the
staff directory, segments) and how long each class of data is kept (retention).

A mixin of :class:`ums_pipelines.settings.Settings` (env variables ``UMS_<FIELD>``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator

__all__ = ["DataSettings"]


class DataSettings(BaseModel):
    """Customer data sources and retention periods."""

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
