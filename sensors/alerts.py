"""The alert sensors: the rule evaluator every ~20 s, and Dagster run failures as alerts.

Both act as the ``ums-scheduler`` service account (``alerts.evaluate``) and do the work in
the sensor itself: an evaluation is a few aggregate queries and a few rows, not worth a
run launch (seconds each).
"""

import time

import dagster as dg

from ums_pipelines.alerts import clear_alert, deliver_pending, raise_alert, run_alerts
from ums_pipelines.compliance.access import allowed
from ums_pipelines.masking import mask_text
from ums_pipelines.resources import UmsResource
from ums_pipelines.store.engine import utcnow

__all__ = ["alerts_run_failure_sensor", "alerts_run_success_sensor", "alerts_sensor"]

_ACTION = "alerts.evaluate"


@dg.sensor(
    minimum_interval_seconds=15,
    description="Every UMS_ALERT_EVAL_INTERVAL_S (20 s): evaluates the alert rules (success"
    " rate, error bursts, backlog age, agent loss, missing receipts, budgets, quotas),"
    " raises, repeats and clears alerts, and sends their notifications to the on-call list"
    " (urgent lane) and the webhook (docs/operations.md, Alerts).",
)
def alerts_sensor(context: dg.SensorEvaluationContext, ums: UmsResource) -> dg.SkipReason:
    settings = ums.settings()
    # The tick interval is fixed when the definitions load (no settings read at import):
    # the cursor holds the last evaluation, and the setting decides when the next is due.
    now = time.time()
    last = float(context.cursor) if context.cursor else None
    if last is not None and now - last < settings.alert_eval_interval_s - 1:
        return dg.SkipReason(
            f"next evaluation in {int(last + settings.alert_eval_interval_s - now)} s"
        )
    with ums.open_store() as store:
        with store.reading() as session:
            if not allowed(session, ums.actor, _ACTION, None):
                return dg.SkipReason(f"{ums.actor} lacks the operator role for '*'")
        result = run_alerts(store, settings)
    context.update_cursor(str(now))
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


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="alerts_run_success_sensor",
    description="A successful Dagster run clears the job's 'dagster run failed' alert (with"
    " a cleared notification), if one is raised.",
)
def alerts_run_success_sensor(context: dg.RunStatusSensorContext, ums: UmsResource) -> None:
    job = context.dagster_run.job_name
    with ums.open_store() as store:
        ums.authorize(store, _ACTION, None)
        with store.session() as session:
            notice = clear_alert(session, key=f"dagster_run_failed:{job}"[:200], now=utcnow())
        if notice is not None:
            deliver_pending(store, ums.settings())
