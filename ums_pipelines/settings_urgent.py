"""Urgent-notice settings: the department urgent jobs run under, how their outbox rows
are written and sent, and what the dry run's prediction assumes (docs/operations.md).

A mixin of :class:`ums_pipelines.settings.Settings` (env variables ``UMS_<FIELD>``).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["UrgentSettings"]


class UrgentSettings(BaseModel):
    """How urgent notices are registered, written, sent and predicted."""

    urgent_department: str = Field(
        default="urgent",
        min_length=1,
        max_length=64,
        description="Department of urgent-notice jobs (job-level roles such as pause and"
        " cancel are checked in it); the notice actions themselves are bank-wide ('*').",
    )
    urgent_write_batch: int = Field(
        default=250,
        ge=1,
        le=20_000,
        description="Outbox rows per write transaction when an approved notice is enqueued:"
        " each batch is claimable by every running sender as soon as it commits; small, so"
        " senders' claims and results on SQLite's one write lock wait for short writes only.",
    )
    urgent_sender_workers: int = Field(
        default=3,
        ge=1,
        le=64,
        description="Sender tasks per channel of `ums urgent approve`; each asks for tokens"
        " as soon as its last round is sent, so a few keep a provider's limit busy.",
    )
    urgent_sender_batch: int = Field(
        default=1000, ge=1, le=10_000, description="Rows per claim of an urgent sender task."
    )
    urgent_unlimited_rate_per_s: float = Field(
        default=1500.0,
        gt=0,
        description="Messages a second the dry run assumes for a provider with no rate limit"
        " configured: the send plane's own capacity (docs/benchmarks.md), not a provider's.",
    )
    urgent_start_s: float = Field(
        default=1.0,
        ge=0,
        description="Fixed time the dry run adds to every prediction: approval, the first"
        " write batch and the first claim before the first send (measured, see"
        " docs/benchmarks.md 'Urgent notices').",
    )
