"""Tables of the content bank's per-recipient parts: short links, their clicks, phrases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ums_pipelines.store.models import Base, BigId, UtcTime

__all__ = ["LinkClick", "Phrase", "ShortLink"]


class ShortLink(Base):
    """One URL of one message, shortened: the code is random (≥ 64 bits), never derived
    from the message, so it cannot be guessed; ``message_key`` is the outbox row's
    idempotency key (known before the row's id), ``position`` the URL's place in it, so a
    re-rendered split writes no second link for the same URL of the same message."""

    __tablename__ = "short_links"
    __table_args__ = (UniqueConstraint("message_key", "position"),)

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    message_key: Mapped[str] = mapped_column(String(96))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # link | feedback
    job_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(String(32), index=True)
    target_url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcTime)


class LinkClick(Base):
    """A click on a short link as the redirect service saw it."""

    __tablename__ = "link_clicks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(24), index=True)
    clicked_at: Mapped[datetime] = mapped_column(UtcTime, index=True)
    user_agent: Mapped[str | None] = mapped_column(String(512))


class Phrase(Base):
    """An "emotional phrase" of the managed list, picked per send by occasion or season."""

    __tablename__ = "phrases"
    __table_args__ = (Index("ix_phrases_occasion", "occasion", "active"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occasion: Mapped[str] = mapped_column(String(32))  # e.g. seollal, chuseok, default
    season: Mapped[str | None] = mapped_column(String(16))  # spring | summer | autumn | winter
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcTime)
