"""The rules' windowed SQL over the store (SQLite and PostgreSQL), and one evaluation
end to end over rows written here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ums_pipelines.alerts import evaluate, queries
from ums_pipelines.alerts.config import load_rules
from ums_pipelines.store.compliance import DepartmentBudget
from ums_pipelines.store.models import Job, Message, ProviderBucket

NOW = datetime(2026, 11, 26, 3, 30, tzinfo=UTC)
_N = iter(range(1_000_000))


def _msg(job_id: str, **kw: Any) -> Message:
    n = next(_N)
    values: dict[str, Any] = dict(
        idempotency_key=f"{job_id}.k{n}", job_id=job_id, customer_id=f"C{n}", channel="sms",
        message_type="SMS", provider="sim-sms", leg=0, chain=["sms"], priority=20,
        recipient="01000000000", body="x", state="queued", attempts=1,
        created_at=NOW - timedelta(minutes=1), updated_at=NOW,
    )  # fmt: skip
    values.update(kw)
    return Message(**values)


def _outcome(job_id: str, state: str, seconds_ago: int, **kw: Any) -> Message:
    done = NOW - timedelta(seconds=seconds_ago)
    return _msg(job_id, state=state, submitted_at=done, completed_at=done, **kw)


def test_outcomes_and_failures_count_the_window_and_tried_rows_only(bank: Any) -> None:
    job = bank.register()
    with bank.store.session() as s:
        s.add_all([_outcome(job, "delivered", 10) for _ in range(7)])
        s.add_all([_outcome(job, "failed", 20) for _ in range(3)])
        s.add(_outcome(job, "failed", 400))  # before the window
        s.add(_outcome(job, "failed", 5, attempts=0))  # failed at rendering, never sent
        s.add(_outcome(job, "delivered", 5, channel="push", provider="sim-fcm"))
    with bank.store.reading() as s:
        rows = queries.outcomes(s, NOW - timedelta(seconds=300))
        burst = queries.failures(s, NOW - timedelta(seconds=60))
    assert [(r.provider, r.channel, r.delivered, r.failed) for r in rows] == [
        ("sim-fcm", "push", 1, 0),
        ("sim-sms", "sms", 7, 3),
    ]
    assert burst == {"sim-sms": 3}


def test_waiting_per_lane_skips_future_and_paused_rows(bank: Any) -> None:
    job = bank.register()
    paused = bank.register()
    with bank.store.session() as s:
        s.get(Job, paused).status = "paused"
        s.add(_msg(job, priority=0, created_at=NOW - timedelta(seconds=90)))  # urgent sms
        s.add(_msg(job, priority=6, created_at=NOW - timedelta(seconds=30)))  # urgent email
        s.add(_msg(job, priority=40, not_before=NOW + timedelta(hours=1)))  # not due
        s.add(_msg(paused, priority=40, created_at=NOW - timedelta(hours=5)))  # paused job
        s.add(_msg(job, priority=30, state="claimed", created_at=NOW - timedelta(seconds=5)))
    with bank.store.reading() as s:
        waiting = {w.lane: (w.count, w.oldest) for w in queries.waiting(s, NOW)}
    assert waiting == {
        "urgent": (2, NOW - timedelta(seconds=90)),
        "informational": (1, NOW - timedelta(seconds=5)),
    }


def test_missing_receipts_budgets_and_quotas(bank: Any) -> None:
    job = bank.register()
    with bank.store.session() as s:
        for ago in (4000, 2000, 60):
            sent = NOW - timedelta(seconds=ago)
            s.add(_msg(job, state="accepted", submitted_at=sent))
        # This Korea-time month's spend: delivered at a stored price.
        s.add(_outcome(job, "delivered", 30, unit_price=Decimal("950")))
        s.add(DepartmentBudget(department="test-dept", month="2026-11",
                               budget_krw=Decimal(1000), set_by="t", set_at=NOW))  # fmt: skip
        s.add(ProviderBucket(provider="sim-sms", per_second=10.0, per_hour=2, updated_at=NOW))
    settings = bank.settings.model_copy(update={"alert_provider_daily_caps": {"sim-sms": 100}})
    with bank.store.reading() as s:
        missing = queries.missing_receipts(s, NOW - timedelta(seconds=1800))
        budgets = queries.budgets(s, settings, NOW)
        quotas = {(q.provider, q.period): (q.used, q.cap) for q in queries.quotas(s, settings, NOW)}
    assert missing == {"sim-sms": (2, NOW - timedelta(seconds=4000))}
    assert [(b.department, b.budget) for b in budgets] == [("test-dept", Decimal(1000))]
    assert budgets[0].used >= Decimal(950)
    # This UTC hour (from 03:00): the rows submitted 60 s and 30 s ago; the Korea-time day
    # (from 15:00 UTC yesterday): all four.
    assert quotas[("sim-sms", "hour")] == (2, 2)
    assert quotas[("sim-sms", "day")] == (4, 100)

    found = {f.key for f in evaluate(bank.store, settings, NOW, load_rules(settings))}
    assert {
        "receipts_missing:sim-sms",
        "budget_threshold:test-dept",
        "quota_threshold:sim-sms/hour",
    } <= found
    assert "quota_threshold:sim-sms/day" not in found  # 4 of 100
