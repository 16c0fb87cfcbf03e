"""Tables of the operational store: the truth for customers, content, jobs and the outbox.

Times are stored in UTC (timezone-aware columns); business rules convert to the
configured zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AuditLog",
    "Base",
    "Consent",
    "Customer",
    "CustomerChangeFile",
    "DeliveryEvent",
    "Job",
    "Message",
    "ProviderBucket",
    "ProviderCircuit",
    "QuarantinedRow",
    "SenderNumber",
    "Template",
    "TemplateVersion",
    "Watermark",
]

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer(), "sqlite")


class _UtcDateTime(TypeDecorator[datetime]):
    """Aware times are written as UTC. SQLite keeps no zone: a ``+09:00`` time written
    as given would read back as UTC nine hours off (a send window, a validity end)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value


UtcTime = _UtcDateTime()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Customer(Base):
    __tablename__ = "customers"

    customer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    push_token: Mapped[str | None] = mapped_column(String(255))
    push_platform: Mapped[str | None] = mapped_column(String(8))  # fcm | apns
    preferred_channel: Mapped[str | None] = mapped_column(String(16))
    branch: Mapped[str | None] = mapped_column(String(50))
    deceased: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last actual transaction and its kind of goods: advertising the same kind
    # needs no consent for 6 months after it (Network Act art. 50(1)(i)).
    last_transaction_at: Mapped[datetime | None] = mapped_column(UtcTime)
    last_transaction_kind: Mapped[str | None] = mapped_column(String(32))
    # The source system's change time: an older change never overwrites a newer one.
    source_changed_at: Mapped[datetime] = mapped_column(UtcTime)
    updated_at: Mapped[datetime] = mapped_column(UtcTime)


class Consent(Base):
    __tablename__ = "consents"

    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.customer_id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    consented_at: Mapped[datetime] = mapped_column(UtcTime)
    source: Mapped[str] = mapped_column(String(100))


class CustomerChangeFile(Base):
    __tablename__ = "customer_change_files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UtcTime)
    encoding: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # applied | partial | rejected
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_applied: Mapped[int] = mapped_column(Integer, default=0)
    rows_stale: Mapped[int] = mapped_column(Integer, default=0)
    rows_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)


class QuarantinedRow(Base):
    __tablename__ = "quarantined_rows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("customer_change_files.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    # The row's fields by name as parsed (null when it could not be split into fields):
    # what ``ums interface replay`` corrects and applies again.
    cells: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    replayed_at: Mapped[datetime | None] = mapped_column(UtcTime)
    replayed_by: Mapped[str | None] = mapped_column(String(64))


class Template(Base):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(16))  # informational | advertising | auth
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    # Content-bank attributes of the item (a template is a content item with a variant
    # per channel): what it is, who owns it, where it may be used, and until when.
    content_type: Mapped[str | None] = mapped_column(String(32))
    department: Mapped[str | None] = mapped_column(String(64))
    service_code: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[Any] | None] = mapped_column(JSON)
    valid_from: Mapped[datetime | None] = mapped_column(UtcTime)
    valid_until: Mapped[datetime | None] = mapped_column(UtcTime)
    # External approvals: the compliance review number, Kakao/RCS template approvals, ...
    approval_ids: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    retired_at: Mapped[datetime | None] = mapped_column(UtcTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcTime)


class TemplateVersion(Base):
    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version", "channel"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"))
    version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # Channel parts beyond text: buttons, images, attachments, RCS/Kakao message types.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The declared variables: names (the first templates) or VariableSpec objects
    # (content/spec.py); the same on every channel row of one version.
    variables: Mapped[list[Any]] = mapped_column(JSON)
    provider_template_code: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # draft | approved | retired
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    # An approved version is immutable: a change is a new version.
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(UtcTime)


class SenderNumber(Base):
    __tablename__ = "sender_numbers"

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime] = mapped_column(UtcTime)
    # The registry (Telecommunications Business Act): who owns the number, the proof of
    # ownership on file, and the period it may be used as a caller number.
    department: Mapped[str | None] = mapped_column(String(64))
    proof_ref: Mapped[str | None] = mapped_column(String(128))
    valid_from: Mapped[datetime | None] = mapped_column(UtcTime)
    valid_until: Mapped[datetime | None] = mapped_column(UtcTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcTime)


class Job(Base):
    __tablename__ = "jobs"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"))
    template_version: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    # preferred channel -> fallback chain, e.g. {"alimtalk": ["alimtalk", "sms"]}
    routes: Mapped[dict[str, Any]] = mapped_column(JSON)
    sender_number: Mapped[str] = mapped_column(String(20))
    department: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    not_before: Mapped[datetime | None] = mapped_column(UtcTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcTime)
    # Splits and pacing of a bulk send; the validity end of its content stops it in flight.
    chunk_size: Mapped[int] = mapped_column(Integer, default=1000)
    pace_per_s: Mapped[float | None] = mapped_column(Float)
    content_valid_until: Mapped[datetime | None] = mapped_column(UtcTime)
    leg_timeout_s: Mapped[int | None] = mapped_column(Integer)
    stop_reason: Mapped[str | None] = mapped_column(Text)
    target_count: Mapped[int | None] = mapped_column(Integer)
    suppressed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Values of the content's job fields (e.g. an event date, an occasion), set at
    # registration and the same for every recipient.
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Every URL in every content area becomes a per-recipient short link (click tracking).
    shorten_urls: Mapped[bool | None] = mapped_column(Boolean)
    # Who registered it: the author, who may never approve it.
    created_by: Mapped[str | None] = mapped_column(String(64))
    # The author's plan: the target count expected (a list far from it is flagged) and
    # the kind of goods advertised (the 6-month transaction exception needs the same kind).
    planned_count: Mapped[int | None] = mapped_column(Integer)
    product_kind: Mapped[str | None] = mapped_column(String(32))
    # What the stage checks flagged: [{"check", "severity", "detail", "at"}].
    anomalies: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    updated_at: Mapped[datetime] = mapped_column(UtcTime)


class Message(Base):
    """The outbox: every message is a row here before any send."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_claim", "state", "channel", "priority", "id"),
        Index("ix_messages_job_state", "job_id", "state"),
        Index("ix_messages_job_customer", "job_id", "customer_id"),
        Index("ix_messages_deadline", "state", "leg_deadline_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(96), unique=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.job_id"))
    customer_id: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))  # sms | alimtalk | push | email
    message_type: Mapped[str] = mapped_column(String(16))  # SMS | LMS | ALIMTALK | PUSH | EMAIL
    provider: Mapped[str] = mapped_column(String(32))
    leg: Mapped[int] = mapped_column(Integer, default=0)
    chain: Mapped[list[Any]] = mapped_column(JSON)
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("messages.id"))
    next_leg_id: Mapped[int | None] = mapped_column(BigId)
    priority: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str | None] = mapped_column(String(64))
    provider_template_code: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # rendered channel parts
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166 of an international send
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))  # KRW, set at send
    state: Mapped[str] = mapped_column(String(16))
    not_before: Mapped[datetime | None] = mapped_column(UtcTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcTime)
    # Accepted but no final receipt by then: ask the provider, then fall back.
    leg_deadline_at: Mapped[datetime | None] = mapped_column(UtcTime)
    # 0 for the job's send; n for the n-th "resend the failed ones" (a new wire key).
    send_round: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    updated_at: Mapped[datetime] = mapped_column(UtcTime, index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcTime)


class DeliveryEvent(Base):
    __tablename__ = "delivery_events"
    # A receipt seen twice (re-polled after a crash) is one event.
    __table_args__ = (UniqueConstraint("message_id", "stage", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))  # ums | relay | carrier | handset
    status: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UtcTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcTime, index=True)


class AuditLog(Base):
    """Append-only and hash-chained: each row's hash covers the previous row's hash."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Watermark(Base):
    """Cursors of incremental readers (receipt polling, Parquet export)."""

    __tablename__ = "watermarks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcTime)


class ProviderBucket(Base):
    """One provider's rate limit and its shared GCRA state (see dispatch/ratelimit.py).

    Times are integer nanoseconds since the epoch: exact arithmetic keeps the
    sliding-window bound exact, where float seconds near 1.7e9 drift by ~1e-7 s a step.
    """

    __tablename__ = "provider_buckets"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    per_second: Mapped[float] = mapped_column(Float)
    per_hour: Mapped[int | None] = mapped_column(Integer)
    tat_ns: Mapped[int] = mapped_column(BigInteger, default=0)  # theoretical arrival time
    hour_window: Mapped[int] = mapped_column(BigInteger, default=0)  # epoch hour index
    hour_count: Mapped[int] = mapped_column(Integer, default=0)
    penalty_until_ns: Mapped[int] = mapped_column(BigInteger, default=0)
    rate_factor: Mapped[float] = mapped_column(Float, default=1.0)  # AIMD: effective/configured
    factor_at_ns: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcTime)


class ProviderCircuit(Base):
    """One provider's circuit breaker, shared by every sender (see dispatch/breaker.py)."""

    __tablename__ = "provider_circuits"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # closed | open | half_open
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive
    open_until_ns: Mapped[int] = mapped_column(BigInteger, default=0)
    probes: Mapped[int] = mapped_column(Integer, default=0)  # granted in this half-open round
    probe_round_ns: Mapped[int] = mapped_column(BigInteger, default=0)
    times_opened: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcTime)
