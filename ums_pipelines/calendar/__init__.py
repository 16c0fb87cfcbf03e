"""The send calendar: every planned job of every department as events by day, week and
month, Korean public holidays and business days, conflicts between overlapping jobs
(customers, purpose, provider capacity) with a suggested free slot, and an iCalendar feed
(docs/operations.md, "Send calendar")."""

from ums_pipelines.calendar.business import (
    business_days,
    flags_for,
    holiday_name,
    holidays_between,
    is_business_day,
    next_business_day,
)

__all__ = [
    "business_days",
    "flags_for",
    "holiday_name",
    "holidays_between",
    "is_business_day",
    "next_business_day",
]
