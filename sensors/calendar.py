"""The send calendar's sensor: every job of an open conflict is checked again every few
minutes (``calendar.recheck``), so a conflict whose job was cancelled, finished or moved
is resolved and its alert cleared instead of repeating.

It acts as the ``ums-scheduler`` service account (``calendar.check``: operator for '*')
and does the work in the sensor: a few queries per job, not worth a run launch.
"""

import dagster as dg

from ums_pipelines.calendar.recheck import recheck_open
from ums_pipelines.compliance.access import allowed
from ums_pipelines.resources import UmsResource

__all__ = ["calendar_conflicts_sensor"]

_ACTION = "calendar.check"


@dg.sensor(
    minimum_interval_seconds=300,
    description="Every 5 minutes: checks every job of an open send-calendar conflict again;"
    " conflicts no longer there are resolved and their alerts cleared (docs/operations.md,"
    " Send calendar).",
)
def calendar_conflicts_sensor(
    context: dg.SensorEvaluationContext, ums: UmsResource
) -> dg.SkipReason:
    settings = ums.settings()
    with ums.open_store() as store:
        with store.reading() as session:
            if not allowed(session, ums.actor, _ACTION, None):
                return dg.SkipReason(f"{ums.actor} lacks the author or operator role for '*'")
        result = recheck_open(store, settings, actor=ums.actor)
    if result.missing:
        context.log.warning("calendar: jobs of open conflicts missing: %s", result.missing)
    return dg.SkipReason(f"calendar: {result.summary}")
