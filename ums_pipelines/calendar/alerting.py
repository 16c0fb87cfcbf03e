"""How a calendar conflict reaches the operations team: as an alert of the alerts
engine (``alerts.lifecycle``): raised once when a check opens it, repeated on the
alerts' interval while it lasts (``ums alerts ack`` stops the repeats), and cleared when a
check no longer finds it; its notifications go to the on-call list and the webhook like
every other alert. One alert per pair of jobs and kind, whichever of the two was checked.

The text names the two jobs, the kind, the shared count and the suggested free slot:
job ids and counts only, never a customer. A warning in the log goes with it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ums_pipelines.alerts.lifecycle import clear_alert, raise_alert
from ums_pipelines.calendar.conflicts import Conflict
from ums_pipelines.settings import Settings

if TYPE_CHECKING:
    from ums_pipelines.calendar.check import ConflictReport

__all__ = ["RULE", "alert_key", "conflict_opened", "conflict_resolved"]

log = logging.getLogger(__name__)
RULE = "calendar_conflict"
_SUBJECT_MAX = 128


def alert_key(job_a: str, job_b: str, kind: str) -> str:
    first, second = sorted((job_a, job_b))
    return f"{RULE}:{first}:{second}:{kind}"


def conflict_opened(
    session: Session,
    conflict: Conflict,
    report: ConflictReport,
    settings: Settings,
    now: datetime,
) -> None:
    slot = report.slot_text(settings)
    first, second = sorted((conflict.job_id, conflict.other_job_id))
    suggestion = report.suggestion
    raise_alert(
        session,
        key=alert_key(first, second, conflict.kind),
        rule=RULE,
        subject=f"{first} / {second}"[:_SUBJECT_MAX],
        summary=f"발송 캘린더 충돌 {conflict.describe()}; {slot}",
        details={
            "jobs": [first, second],
            "found_for": conflict.job_id,
            "kind": conflict.kind,
            "shared": conflict.shared,
            "unit": conflict.unit,
            "detail": conflict.detail,
            "overlap": [conflict.overlap_start.isoformat(), conflict.overlap_end.isoformat()],
            "suggested": (
                [suggestion.start.isoformat(), suggestion.end.isoformat()] if suggestion else None
            ),
        },
        now=now,
    )
    log.warning("send calendar: %s; %s", conflict.describe(), slot)


def conflict_resolved(session: Session, key: tuple[str, str, str], now: datetime) -> None:
    clear_alert(session, key=alert_key(*key), now=now)
    log.info("send calendar: %s resolved", alert_key(*key))
