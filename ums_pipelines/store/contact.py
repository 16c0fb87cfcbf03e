"""Tables of the customer's side of a contact: replies (MO) and opt-outs from every channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ums_pipelines.store.models import Base, BigId, UtcTime

__all__ = ["MoMessage", "OptOut"]


class MoMessage(Base):
    """An inbound reply (MO) from a relay or an RCS chatroom, matched to what it answers.

    ``provider_mo_id`` is unique so a re-delivered MO is stored once."""

    __tablename__ = "mo_messages"
    __table_args__ = (UniqueConstraint("provider", "provider_mo_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    provider_mo_id: Mapped[str] = mapped_column(String(128))
    sender: Mapped[str] = mapped_column(String(32))  # the customer's number, E.164
    recipient: Mapped[str] = mapped_column(String(32))  # the bank's number it was sent to
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcTime)
    message_id: Mapped[int | None] = mapped_column(BigId, index=True)  # the MT it answers
    customer_id: Mapped[str | None] = mapped_column(String(32), index=True)
    keyword: Mapped[str | None] = mapped_column(String(32))
    route: Mapped[str] = mapped_column(String(16))  # opt_out | care | unmatched
    handled_at: Mapped[datetime | None] = mapped_column(UtcTime)


class OptOut(Base):
    """One opt-out with its scope: ``channel``/``purpose`` NULL means every channel/purpose.

    Fed by every channel (080 file, MO "수신거부", Kakao block, push off, e-mail
    unsubscribe); ``withdrawn_at`` is set when the customer consents again, so the history
    stays. ``confirmed_at`` records the confirmation the law wants within 14 days."""

    __tablename__ = "opt_outs"
    __table_args__ = (Index("ix_opt_outs_customer", "customer_id", "withdrawn_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(16))
    purpose: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))  # 080 | mo | kakao_block | push_off | ...
    reference: Mapped[str | None] = mapped_column(String(128))  # e.g. the MO id
    reason: Mapped[str | None] = mapped_column(Text)
    opted_out_at: Mapped[datetime] = mapped_column(UtcTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcTime)
