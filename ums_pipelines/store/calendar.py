"""Tables of the send calendar: conflicts found between planned jobs (docs/operations.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ums_pipelines.store.models import Base, BigId, UtcTime

__all__ = ["CalendarConflict"]


class CalendarConflict(Base):
    """Two jobs planned over the same time that collide: on customers (``shared`` shared
    recipients), on purpose (``shared`` minutes of overlap) or on a provider's capacity
    (``shared`` messages per second planned together, over its capacity).

    One row per unordered pair of jobs and kind (``job_a`` < ``job_b``); a re-check that no
    longer finds it sets ``resolved_at``, and finding it again opens it again."""

    __tablename__ = "calendar_conflicts"
    __table_args__ = (
        UniqueConstraint("job_a", "job_b", "kind", name="uq_calendar_conflicts_pair"),
        Index("ix_calendar_conflicts_open", "resolved_at", "detected_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_a: Mapped[str] = mapped_column(String(64), index=True)
    job_b: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # customers | purpose | provider
    shared: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))  # customers | minutes | msg/s
    detail: Mapped[str] = mapped_column(Text)
    overlap_start: Mapped[datetime] = mapped_column(UtcTime)
    overlap_end: Mapped[datetime] = mapped_column(UtcTime)
    # The job whose registration or window change found it, and the free slot suggested.
    found_for: Mapped[str] = mapped_column(String(64))
    suggested_start: Mapped[datetime | None] = mapped_column(UtcTime)
    suggested_end: Mapped[datetime | None] = mapped_column(UtcTime)
    detected_at: Mapped[datetime] = mapped_column(UtcTime)
    updated_at: Mapped[datetime] = mapped_column(UtcTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcTime)
