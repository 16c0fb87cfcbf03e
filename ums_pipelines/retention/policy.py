"""What each data class keeps and for how long (the durations are settings).

Ages count from the row's own immutable time (a message's creation, an event's
occurrence, an audit entry's time) and cut at the start of a Korea-time day, so a purge
takes whole days: an archive file and an analytics day file are done once, not in slices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal

from ums_pipelines.settings import Settings

__all__ = ["AUDIT_MINIMUM_DAYS", "CLASSES", "Policy", "cutoff", "policies"]

AUDIT_MINIMUM_DAYS = 730
# Purge order matters: events go before the message rows they reference.
CLASSES = (
    "message_content", "delivery_events", "message_rows", "short_links", "mo_replies",
    "send_request_payloads", "send_request_rows", "quarantined_rows", "change_files",
    "contact_counts", "audit_log",
)  # fmt: skip


@dataclass(frozen=True)
class Policy:
    data_class: str
    days: int | None  # None: kept
    action: Literal["redact", "delete", "keep"]
    what: str


def policies(settings: Settings) -> tuple[Policy, ...]:
    """Every data class with its duration and what a purge does to it."""
    return (
        Policy(
            "message_content",
            settings.retention_message_content_days,
            "redact",
            "recipient, subject, body, html_body, payload, error_reason of messages",
        ),
        Policy(
            "delivery_events",
            settings.retention_delivery_events_days,
            "delete",
            "delivery event rows (with the provider's free-text detail)",
        ),
        Policy(
            "message_rows",
            settings.retention_message_rows_days,
            "delete",
            "message rows; their analytics copy loses customer_id, its key becomes an alias",
        ),
        Policy(
            "audit_log",
            settings.retention_audit_days,
            "delete",
            "audit entries, archived whole; verification restarts from the last purged hash",
        ),
        Policy(
            "short_links",
            settings.retention_short_links_days,
            "delete",
            "expired short links (target URLs may carry customer values) and their clicks",
        ),
        Policy(
            "mo_replies",
            settings.retention_mo_replies_days,
            "delete",
            "customers' MO replies (number and text); opt-outs they caused stay",
        ),
        Policy(
            "send_request_payloads",
            settings.retention_send_requests_days,
            "redact",
            "variables and error text of real-time requests",
        ),
        Policy(
            "send_request_rows",
            settings.retention_message_rows_days,
            "delete",
            "real-time request rows, once their message row is gone",
        ),
        Policy(
            "quarantined_rows",
            settings.retention_quarantine_days,
            "delete",
            "quarantined customer-file rows (raw record and parsed cells)",
        ),
        Policy(
            "change_files",
            settings.retention_quarantine_days,
            "delete",
            "processed and rejected customer change files on disk (not archived)",
        ),
        Policy(
            "contact_counts",
            settings.retention_contact_counts_days,
            "delete",
            "per-customer daily counts (recipient_days); archived as sums without customers",
        ),
        Policy(
            "job_targets",
            settings.retention_message_rows_days,
            "delete",
            "a job's frozen target list, when its last message row is deleted",
        ),
        Policy("aggregates", None, "keep", "analytics models and daily counts: no personal data"),
    )


def cutoff(settings: Settings, days: int, now: datetime) -> datetime:
    """The UTC start of the Korea-time day ``days`` before ``now``: older rows are due."""
    if days <= 0:
        raise ValueError(f"retention days: {days} must be more than 0")
    local = now.astimezone(settings.tz).date() - timedelta(days=days)
    return datetime.combine(local, time.min, tzinfo=settings.tz).astimezone(UTC)
