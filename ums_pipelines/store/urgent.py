"""Tables of urgent notices: the notice itself (draft, dry run, approval, progress) and
the rate-limit reservation by which the urgent lane takes a provider's tokens first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ums_pipelines.store.models import Base, BigId, UtcTime

__all__ = ["LaneReservation", "UrgentNotice"]


class UrgentNotice(Base):
    """A customer-wide urgent notice, sent as the urgent-lane job ``job_id``."""

    __tablename__ = "urgent_notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    template_code: Mapped[str] = mapped_column(String(64))
    routes: Mapped[dict[str, Any]] = mapped_column(JSON)
    audience: Mapped[str] = mapped_column(String(16))  # "all" or "segment"
    segment_sql: Mapped[str | None] = mapped_column(Text)
    segment_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    drafted_by: Mapped[str] = mapped_column(String(64))
    drafted_at: Mapped[datetime] = mapped_column(UtcTime)
    # The dry run's reach per channel, suppressions and prediction, as shown.
    dry_run: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dry_run_at: Mapped[datetime | None] = mapped_column(UtcTime)
    predicted_s: Mapped[float | None] = mapped_column(Float)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(UtcTime)
    enqueued: Mapped[int | None] = mapped_column(Integer)
    enqueued_at: Mapped[datetime | None] = mapped_column(UtcTime)
    first_sent_at: Mapped[datetime | None] = mapped_column(UtcTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcTime)


class LaneReservation(Base):
    """While ``until_ns`` is ahead, a provider's rate-limit tokens go to ``lane`` and the
    lanes above it only: senders of lower lanes get none and wait (dispatch/ratelimit.py).
    """

    __tablename__ = "lane_reservations"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    lane: Mapped[int] = mapped_column(Integer)
    until_ns: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcTime)
