"""Tables of monitoring: the screen board's per-user access tokens, and the index the
per-stage snapshot counts with.

The index is declared here, beside the table that needs it for nothing else: every
grouped count of ``monitoring.snapshot`` filters on (state, updated_at) and groups by
channel, provider and priority, so SQLite answers it from the index alone and
PostgreSQL with an index-only scan where the visibility map allows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ums_pipelines.store.models import Base, BigId, Message, UtcTime

__all__ = ["MONITOR_INDEX", "BoardToken"]

MONITOR_INDEX = Index(
    "ix_messages_monitor",
    Message.state,
    Message.updated_at,
    Message.channel,
    Message.provider,
    Message.priority,
)


class BoardToken(Base):
    """A credential of one staff user for the screen board and /metrics. Only the
    SHA-256 of the token is kept (it is 256 random bits: no slow hash is needed); the
    token itself is shown once, when issued. The user's roles are checked on every
    request, so a revoked role closes the board without touching the token."""

    __tablename__ = "board_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
