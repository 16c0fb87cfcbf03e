"""The send calendar (issue 9): every planned job of every department as events by day,
week and month, Korean public holidays and business days, conflicts between jobs that
meet on customers, purpose or provider capacity (recorded, audited and alerted, with the
nearest free slot), moving a job's window, and an iCalendar feed; ``web.calendar_routes``
for the screen board. See docs/operations.md, "Send calendar".

    from ums_pipelines.calendar import calendar_view, check_job, calendar_feed

    with store.session() as session:
        report = check_job(session, settings, "card-0926", actor="kim")
        print("\\n".join(report.lines(settings)))
"""

from ums_pipelines.calendar.business import (
    business_days,
    flags_for,
    holiday_name,
    holidays_between,
    is_business_day,
    next_business_day,
)
from ums_pipelines.calendar.check import ConflictReport, check_job
from ums_pipelines.calendar.conflicts import Conflict, Slot, find_conflicts, suggest_slot
from ums_pipelines.calendar.events import CalendarEvent, event_of, load_events
from ums_pipelines.calendar.ics import build_feed, calendar_feed
from ums_pipelines.calendar.schedule import ScheduleError, reschedule
from ums_pipelines.calendar.views import calendar_view, open_conflicts, period_of

__all__ = [
    "CalendarEvent",
    "Conflict",
    "ConflictReport",
    "ScheduleError",
    "Slot",
    "build_feed",
    "business_days",
    "calendar_feed",
    "calendar_view",
    "check_job",
    "event_of",
    "find_conflicts",
    "flags_for",
    "holiday_name",
    "holidays_between",
    "is_business_day",
    "load_events",
    "next_business_day",
    "open_conflicts",
    "period_of",
    "reschedule",
    "suggest_slot",
]
