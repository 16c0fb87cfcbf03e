"""One evaluation: read the rules' inputs, decide, move alerts, deliver notifications.

``evaluate`` is the rules over the store at ``now`` (no writes); ``run_alerts`` is what
the sensor and ``ums alerts evaluate`` do every tick: raise what is found, clear what an
evaluator raised and no longer finds, repeat what is due, then queue the on-call
messages and POST the webhooks of every notification still pending (also producers').
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from ums_pipelines.alerts import queries, rules
from ums_pipelines.alerts.config import RuleSet, load_rules
from ums_pipelines.alerts.lifecycle import Notice, clear_alert, raise_alert, repeat_due
from ums_pipelines.alerts.notify import AlertSetupError, queue_oncall
from ums_pipelines.alerts.webhook import deliver_webhooks
from ums_pipelines.settings import Settings
from ums_pipelines.store.alerts import Alert
from ums_pipelines.store.engine import Store, utcnow

__all__ = ["AlertRun", "deliver_pending", "evaluate", "run_alerts"]

log = logging.getLogger(__name__)


@dataclass
class AlertRun:
    findings: list[rules.Finding] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    oncall_queued: int = 0
    webhooks: dict[str, int] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        kinds = {k: sum(n.kind == k for n in self.notices) for k in ("raised", "repeat", "cleared")}
        hooks = ", ".join(f"{n} {s}" for s, n in sorted(self.webhooks.items())) or "none"
        return (
            f"{len(self.findings)} condition(s); {kinds['raised']} raised,"
            f" {kinds['repeat']} repeated, {kinds['cleared']} cleared;"
            f" {self.oncall_queued} on-call message(s) queued; webhooks: {hooks}"
        )


def evaluate(
    store: Store, settings: Settings, now: datetime, ruleset: RuleSet
) -> list[rules.Finding]:
    """Every enabled rule over the store as it is at ``now``."""
    found: list[rules.Finding] = []
    r = ruleset
    with store.reading() as session:
        if r.success_rate_drop.enabled:
            since = now - timedelta(seconds=r.success_rate_drop.window_s)
            found += rules.success_rate_drop(queries.outcomes(session, since), r.success_rate_drop)
        if r.error_burst.enabled:
            since = now - timedelta(seconds=r.error_burst.window_s)
            found += rules.error_burst(queries.failures(session, since), r.error_burst)
        if r.backlog_age.enabled:
            found += rules.backlog_age(queries.waiting(session, now), r.backlog_age, now)
        if r.agent_loss.enabled:
            found += rules.agent_loss(queries.agents(session), r.agent_loss, now)
        cfg = r.receipts_missing
        if cfg.enabled and cfg.threshold is not None:
            thresholds = [cfg.threshold] + [
                o.threshold for o in cfg.subjects.values() if o.threshold is not None
            ]
            before = now - timedelta(seconds=min(thresholds))
            found += rules.receipts_missing(queries.missing_receipts(session, before), cfg, now)
        if r.budget_threshold.enabled:
            uses = queries.budgets(session, settings, now)
            found += rules.budget_threshold(uses, r.budget_threshold)
        if r.quota_threshold.enabled:
            found += rules.quota_threshold(
                queries.quotas(session, settings, now), r.quota_threshold
            )
    return found


def _reconcile(store: Store, findings: list[rules.Finding], now: datetime) -> list[Notice]:
    notices: list[Notice] = []
    for f in findings:
        # One short transaction per alert: a conflict on one never holds up the others.
        with store.session() as session:
            notice = raise_alert(
                session, key=f.key, rule=f.rule, subject=f.subject, details=dict(f.details),
                now=now, summary=f.summary, severity=f.severity,
            )  # fmt: skip
        if notice is not None:
            notices.append(notice)
    live = {f.key for f in findings}
    with store.reading() as session:
        # Only the evaluator's own rules clear here; a producer's alert (a run failure, a
        # calendar conflict) is cleared by its producer or stays until acknowledged.
        raised = session.scalars(
            select(Alert.key).where(Alert.state == "raised", Alert.rule.in_(list(rules.RULES)))
        ).all()
    for key in raised:
        if key not in live:
            with store.session() as session:
                notice = clear_alert(session, key=key, now=now)
            if notice is not None:
                notices.append(notice)
    return notices


def deliver_pending(
    store: Store,
    settings: Settings,
    now: datetime | None = None,
    client: httpx.Client | None = None,
) -> tuple[int, dict[str, int]]:
    """Queue on-call messages and POST webhooks of every pending notification; producers
    that raise outside an evaluation call this to deliver at once, not at the next tick."""
    now = now or utcnow()
    try:
        queued = queue_oncall(store, settings, now)
    except AlertSetupError as exc:
        # Left pending (queued on a later tick once fixed); the webhook still goes out.
        log.error("on-call alerts cannot be queued: %s", exc)
        queued = 0
    return queued, deliver_webhooks(store, settings, now, client=client)


def run_alerts(
    store: Store,
    settings: Settings,
    now: datetime | None = None,
    *,
    client: httpx.Client | None = None,
    ruleset: RuleSet | None = None,
) -> AlertRun:
    """One tick of the alert evaluator (sensor, CLI); ``now`` injectable for tests."""
    now = now or utcnow()
    ruleset = ruleset or load_rules(settings)
    run = AlertRun(findings=evaluate(store, settings, now, ruleset))
    run.notices = _reconcile(store, run.findings, now)
    with store.session() as session:
        run.notices += repeat_due(session, now, settings.alert_repeat_interval_s)
    run.oncall_queued, run.webhooks = deliver_pending(store, settings, now, client)
    return run
