"""Retention of the data classes beyond messages, events and the audit log (short links,
MO replies, real-time requests, quarantined customer rows, contact counts), and the secret
of open tracking (docs/retention.md, docs/history.md).

Mixins of :class:`ums_pipelines.settings.Settings` (env variables ``UMS_<FIELD>``).
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

__all__ = ["OpensSettings", "RetentionClassSettings"]


class RetentionClassSettings(BaseModel):
    """Days (Korea-time days from the row's own time) each further data class is kept."""

    retention_short_links_days: int = Field(
        default=365,
        gt=0,
        description="Short links (their targets may carry customer values) and their clicks"
        " are deleted this many days after the link was made, once expired.",
    )
    retention_mo_replies_days: int = Field(
        default=365,
        gt=0,
        description="Customers' MO replies (number and free text) are deleted after this"
        " many days; an opt-out they caused stays in opt_outs.",
    )
    retention_send_requests_days: int = Field(
        default=90,
        gt=0,
        description="A real-time request's variables and error text (phone numbers,"
        " amounts) are redacted after this many days; the row goes with the message rows.",
    )
    retention_quarantine_days: int = Field(
        default=90,
        gt=0,
        description="Quarantined customer-file rows (the raw record) and the processed or"
        " rejected change files themselves are deleted after this many days.",
    )
    retention_contact_counts_days: int = Field(
        default=90,
        ge=8,
        description="Per-customer daily message counts (recipient_days) are deleted after"
        " this many days; at least 8, as the weekly frequency cap reads 7 days back.",
    )


class OpensSettings(BaseModel):
    """Open tracking: e-mail pixels and app-reported push opens (shortlinks/opens.py)."""

    opens_secret: SecretStr | None = Field(
        default=None,
        description="Key of the opaque open-tracking tokens (environment only). Unset:"
        " e-mail carries no tracking pixel and push no open address.",
    )
