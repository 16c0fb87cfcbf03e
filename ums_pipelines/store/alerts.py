"""Tables of alerts: each alert's lifecycle, every notification of it, the on-call list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ums_pipelines.store.models import Base, BigId, UtcTime

__all__ = ["Alert", "AlertNotification", "OncallContact"]


class Alert(Base):
    """One alert per key (rule + subject); raised and cleared again over its episodes.

    ``notified`` counts every notification ever made of it (raised, repeats, cleared):
    evaluators move it by a conditional update, so of two concurrent ones only one
    notifies, and (alert, number) is the idempotency key of what goes out.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), index=True)  # raised | cleared
    severity: Mapped[str] = mapped_column(String(16))  # warning | critical
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    episode: Mapped[int] = mapped_column(Integer, default=1)
    notified: Mapped[int] = mapped_column(Integer, default=0)
    first_raised_at: Mapped[datetime] = mapped_column(UtcTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcTime)
    last_notified_at: Mapped[datetime | None] = mapped_column(UtcTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcTime)
    acked_by: Mapped[str | None] = mapped_column(String(64))
    acked_at: Mapped[datetime | None] = mapped_column(UtcTime)
    updated_at: Mapped[datetime] = mapped_column(UtcTime)


class AlertNotification(Base):
    """One notification of an alert: what it said, the on-call messages, the webhook."""

    __tablename__ = "alert_notifications"
    __table_args__ = (UniqueConstraint("alert_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # raised | repeat | cleared
    text: Mapped[str] = mapped_column(Text)  # masked
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    # The on-call list's real-time send requests (caller "ums-alerts"): pending until
    # queued (a crash in between queues them again under the same keys, never twice).
    oncall_state: Mapped[str] = mapped_column(String(16), index=True)  # pending | queued
    oncall_requests: Mapped[int] = mapped_column(Integer, default=0)
    webhook_state: Mapped[str] = mapped_column(String(16), index=True)  # off|pending|sent|failed
    webhook_attempts: Mapped[int] = mapped_column(Integer, default=0)
    webhook_status: Mapped[int | None] = mapped_column(Integer)
    webhook_error: Mapped[str | None] = mapped_column(Text)
    webhook_at: Mapped[datetime | None] = mapped_column(UtcTime)


class OncallContact(Base):
    """A person alerts go to: SMS to the phone, e-mail to the address (either or both)."""

    __tablename__ = "oncall_contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UtcTime)
    removed_by: Mapped[str | None] = mapped_column(String(64))
    removed_at: Mapped[datetime | None] = mapped_column(UtcTime)
