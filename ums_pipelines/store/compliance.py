"""Tables of compliance: forbidden words, the other senders of the registry, reviews."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ums_pipelines.store.models import Base, BigId, UtcTime

__all__ = ["Approval", "ForbiddenWord", "Sender", "StaffRole"]


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
