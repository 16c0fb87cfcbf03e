"""Send-calendar settings: the business hours a suggested slot keeps to, how a job's end
is estimated when it has no must-end-by, and which purposes collide (docs/operations.md,
"Send calendar").

A mixin of :class:`ums_pipelines.settings.Settings` (env variables ``UMS_<FIELD>``).
"""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, Field, field_validator, model_validator

__all__ = ["CalendarSettings"]

_PURPOSES = frozenset({"informational", "advertising", "auth"})


class CalendarSettings(BaseModel):
    """Business hours, end estimates and conflict rules of the send calendar."""

    calendar_day_start: time = Field(
        default=time(9, 0),
        description="Start of the sending day on a business day (Korea time): a suggested"
        " free slot starts no earlier, and a job starting before it is flagged.",
    )
    calendar_day_end: time = Field(
        default=time(18, 0),
        description="End of the sending day on a business day (Korea time): a suggested slot"
        " that fits in one day ends by it, and a job starting after it is flagged.",
    )
    calendar_default_rate_per_s: float = Field(
        default=100.0,
        gt=0,
        description="Messages per second assumed for a provider with no configured rate"
        " limit, to estimate the end of a job that has no must-end-by.",
    )
    calendar_min_event_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="Shortest planned window of a job on the calendar (an estimate of a few"
        " seconds still occupies its provider and its customers for a while).",
    )
    calendar_conflict_purposes: list[str] = Field(
        default_factory=lambda: ["informational", "advertising"],
        description="JSON list of purposes for which two overlapping jobs of the same purpose"
        " and campaign kind (product kind) conflict.",
    )
    calendar_slot_search_days: int = Field(
        default=30,
        ge=1,
        le=366,
        description="How many days ahead a free slot is looked for before giving up.",
    )

    @field_validator("calendar_conflict_purposes")
    @classmethod
    def _known_purposes(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - _PURPOSES)
        if unknown:
            raise ValueError(
                f"calendar_conflict_purposes: unknown purpose(s) {', '.join(unknown)}"
                f" (known: {', '.join(sorted(_PURPOSES))})"
            )
        return value

    @model_validator(mode="after")
    def _day_in_order(self) -> CalendarSettings:
        if self.calendar_day_end <= self.calendar_day_start:
            raise ValueError(
                "calendar_day_end: must be after calendar_day_start"
                f" ({self.calendar_day_end} <= {self.calendar_day_start})"
            )
        return self
