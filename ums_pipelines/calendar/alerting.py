"""How a calendar conflict reaches the operations team: a warning in the log of the
process that found it (job ids, kind and counts only; never a customer), on top of its
``calendar_conflicts`` row and audit entry, which ``ums calendar conflicts`` lists."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ums_pipelines.calendar.conflicts import Conflict
from ums_pipelines.settings import Settings

if TYPE_CHECKING:
    from ums_pipelines.calendar.check import ConflictReport

__all__ = ["alert_key", "conflict_opened", "conflict_resolved"]

log = logging.getLogger(__name__)
RULE = "calendar_conflict"


def alert_key(job_a: str, job_b: str, kind: str) -> str:
    """One alert per pair of jobs and kind, whichever of the two was checked."""
    first, second = sorted((job_a, job_b))
    return f"{RULE}:{first}:{second}:{kind}"


def conflict_opened(
    session: Session,
    conflict: Conflict,
    report: ConflictReport,
    settings: Settings,
    now: datetime,
) -> None:
    slot = report.lines(settings)[-1]
    log.warning("send calendar: %s; %s", conflict.describe(), slot)


def conflict_resolved(session: Session, key: tuple[str, str, str], now: datetime) -> None:
    log.info("send calendar: %s resolved", alert_key(*key))
