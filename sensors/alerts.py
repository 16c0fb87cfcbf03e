"""The alert sensors: the rule evaluator every ~20 s, and Dagster run failures as alerts.

Both act as the ``ums-scheduler`` service account (``alerts.evaluate``) and do the work in
the sensor itself: an evaluation is a few aggregate queries and a few rows, not worth a
run launch (seconds each).
"""

import dagster as dg

from ums_pipelines.alerts import deliver_pending, raise_alert, run_alerts
from ums_pipelines.compliance.access import allowed
from ums_pipelines.masking import mask_text
from ums_pipelines.resources import UmsResource
from ums_pipelines.store.engine import utcnow

__all__ = ["alerts_run_failure_sensor", "alerts_sensor"]

_ACTION = "alerts.evaluate"


@dg.sensor(
    minimum_interval_seconds=20,
    description="Every 20 s: evaluates the alert rules (success rate, error bursts,"
    " backlog age, agent loss, missing receipts, budgets, quotas), raises, repeats and"
    " clears alerts, and sends their notifications to the on-call list (urgent lane) and"
    " the webhook (docs/operations.md, Alerts).",
)
def alerts_sensor(ums: UmsResource) -> dg.SkipReason:
    settings = ums.settings()
    with ums.open_store() as store:
        with store.reading() as session:
            if not allowed(session, ums.actor, _ACTION, None):
                return dg.SkipReason(f"{ums.actor} lacks the operator role for '*'")
        result = run_alerts(store, settings)
    return dg.SkipReason(f"alerts: {result.summary}")


@dg.run_failure_sensor(
    name="alerts_run_failure_sensor",
    description="A failed Dagster run raises the alert 'dagster run failed: job X' through"
    " the alert engine (one alert per job, repeated while unacknowledged).",
)
def alerts_run_failure_sensor(context: dg.RunFailureSensorContext, ums: UmsResource) -> None:
    settings = ums.settings()
    job = context.dagster_run.job_name
    error = context.failure_event.message or ""
    with ums.open_store() as store:
        ums.authorize(store, _ACTION, None)
        with store.session() as session:
            raise_alert(
                session,
                key=f"dagster_run_failed:{job}"[:200],
                rule="dagster_run_failed",
                subject=job[:128],
                details={"run_id": context.dagster_run.run_id, "error": mask_text(error)[:500]},
                summary=f"dagster run failed: job {job}",
                severity="critical",
                now=utcnow(),
            )
        # Delivered now, not at the evaluator's next tick.
        deliver_pending(store, settings)
