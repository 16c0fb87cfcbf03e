"""Alerts (issue 9): rules over the store, an alert lifecycle, on-call and webhook delivery.

Rules (``rules.py``; thresholds from ``UMS_ALERT_*`` and an optional rules file,
``config.py``): success-rate drop per provider/channel, error bursts per provider, backlog
age per lane, agent loss, receipts missing, department budget and provider quota
thresholds. ``run_alerts`` evaluates them (the ``alerts_sensor`` every ~20 s, ``ums
alerts evaluate``): an alert is raised once, repeated every ``UMS_ALERT_REPEAT_INTERVAL_S``
while it lasts (never sooner) and cleared with a "cleared" notification when its
condition ends. Notifications go to the on-call list as real-time SMS/e-mail on the
urgent lane (``notify.py``) and to a signed webhook (``webhook.py``).

Other producers raise and clear alerts by key with the same lifecycle::

    from ums_pipelines.alerts import clear_alert, deliver_pending, raise_alert

    with store.session() as session:
        raise_alert(session, key="calendar_conflict:job-a:job-b", rule="calendar_conflict",
                    subject="job-a/job-b", details={"jobs": ["job-a", "job-b"]},
                    summary="calendar conflict: job-a overlaps job-b", now=utcnow())
    deliver_pending(store, settings)  # optional: else the next sensor tick delivers
    ...
    with store.session() as session:
        clear_alert(session, key="calendar_conflict:job-a:job-b", now=utcnow())

``raise_alert`` returns the ``Notice`` it made (a new or re-raised alert) or None (already
raised: only the details are updated). The evaluator never clears a producer's rule;
repeats apply to every raised alert that is not acknowledged (``ums alerts ack``).
"""

from __future__ import annotations

from ums_pipelines.alerts.engine import AlertRun, deliver_pending, evaluate, run_alerts
from ums_pipelines.alerts.lifecycle import Notice, ack_alert, clear_alert, raise_alert

__all__ = [
    "AlertRun",
    "Notice",
    "ack_alert",
    "clear_alert",
    "deliver_pending",
    "evaluate",
    "raise_alert",
    "run_alerts",
]
