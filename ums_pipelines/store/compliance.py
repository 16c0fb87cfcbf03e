"""Tables of compliance: forbidden words, the other senders of the registry, reviews."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ums_pipelines.store.models import Base, BigId, UtcTime

__all__ = [
    "Approval",
    "DepartmentBudget",
    "ForbiddenWord",
    "RecipientDay",
    "ReviewRequest",
    "Sender",
    "StaffRole",
]


class ForbiddenWord(Base):
    """A word no message may carry: global (``department`` NULL) or one department's;
    ``mode`` exact, or normalised (spacing, symbols and look-alike characters ignored)."""

    __tablename__ = "forbidden_words"
    __table_args__ = (Index("ix_forbidden_words_active", "active", "department"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    word: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))  # exact | normalised
    department: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)  # shown to the author
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    updated_at: Mapped[datetime] = mapped_column(UtcTime)


class Sender(Base):
    """A sender other than a caller number: a Kakao sender profile, an RCS brand or
    chatroom, an e-mail domain; with its owner, proof and validity like a number."""

    __tablename__ = "senders"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # kakao_profile | rcs_brand | rcs_chatbot | email_domain
    value: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(64))
    proof_ref: Mapped[str | None] = mapped_column(String(128))
    valid_from: Mapped[datetime | None] = mapped_column(UtcTime)
    valid_until: Mapped[datetime | None] = mapped_column(UtcTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    registered_at: Mapped[datetime] = mapped_column(UtcTime)
    updated_at: Mapped[datetime] = mapped_column(UtcTime)
    revision: Mapped[int] = mapped_column(Integer, default=1)


class StaffRole(Base):
    """A person's role in one department: author, reviewer, approver (the department
    head), operator, auditor, admin. ``department`` '*' scopes a role to every one."""

    __tablename__ = "staff_roles"
    __table_args__ = (UniqueConstraint("user_id", "role", "department"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    department: Mapped[str] = mapped_column(String(64))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UtcTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcTime)


class Approval(Base):
    """A decision on a job (or content version), tied to exactly what was approved: the
    content version and the target count. A change to either voids it."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(16))  # job | content
    entity_id: Mapped[str] = mapped_column(String(64))
    content_version: Mapped[int | None] = mapped_column(Integer)
    target_count: Mapped[int | None] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of what was approved
    role: Mapped[str] = mapped_column(String(16))  # the role it was decided in
    decided_by: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))  # approved | rejected
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UtcTime)
    voided_at: Mapped[datetime | None] = mapped_column(UtcTime)
    void_reason: Mapped[str | None] = mapped_column(Text)


class DepartmentBudget(Base):
    """A department's messaging budget for one month (KST), in won: a job whose estimated
    cost would take the month's committed spend over it is flagged before it sends."""

    __tablename__ = "department_budgets"

    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    budget_krw: Mapped[Decimal] = mapped_column(Numeric(14, 0))
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UtcTime)


class ReviewRequest(Base):
    """A request to the bank's internal review-and-approval system and its decision:
    sent out as a file or an HTTP call, answered by a decision file or a callback."""

    __tablename__ = "review_requests"
    __table_args__ = (Index("ix_review_requests_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_ref: Mapped[str] = mapped_column(String(64), unique=True)  # ours, sent out
    entity: Mapped[str] = mapped_column(String(16))  # job | content
    entity_id: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))  # what the decision is about
    via: Mapped[str] = mapped_column(String(8))  # file | http
    external_ref: Mapped[str | None] = mapped_column(String(128))  # theirs, if given
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | rejected | void
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UtcTime)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RecipientDay(Base):
    """Messages written for one customer on one day (KST) per channel and purpose: the
    brand message's one-per-day rule and the frequency caps count here."""

    __tablename__ = "recipient_days"

    customer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
