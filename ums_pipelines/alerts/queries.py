"""The rules' inputs, read with windowed SQL over the store (no other module's snapshot).

Every query is bounded by an indexed time or state column and returns a handful of
aggregated rows, so an evaluation every 20 s stays cheap on a store of millions of rows:
``completed_at`` and ``submitted_at`` have no index, but every write of them also sets
``updated_at`` (indexed), so ``updated_at >= since`` narrows the rows first.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ums_pipelines.alerts.rules import AgentBeat, BudgetUse, Outcomes, QuotaUse, Waiting
from ums_pipelines.compliance.budgets import month_of, month_spend
from ums_pipelines.lanes import lane_of
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Job, Message, ProviderBucket
from ums_pipelines.store.sendplane import Agent

__all__ = [
    "agents",
    "budgets",
    "failures",
    "missing_receipts",
    "outcomes",
    "quotas",
    "waiting",
]

_FINAL = ("delivered", "failed")
_WAITING = ("queued", "claimed")
_IN_FLIGHT = ("submitted", "accepted")
# Rows of these jobs wait on purpose: an operator paused or stopped them.
_HELD_JOBS = ("paused", "cancelled", "stopped")


def outcomes(session: Session, since: datetime) -> list[Outcomes]:
    """Final outcomes per provider and channel completed since ``since``, of rows a
    sender tried (``attempts > 0``): a row failed at rendering never reached a provider."""
    rows = session.execute(
        select(Message.provider, Message.channel, Message.state, func.count())
        .where(
            Message.updated_at >= since,
            Message.completed_at >= since,
            Message.state.in_(_FINAL),
            Message.attempts > 0,
        )
        .group_by(Message.provider, Message.channel, Message.state)
    ).all()
    counts: dict[tuple[str, str], list[int]] = {}
    for provider, channel, state, n in rows:
        pair = counts.setdefault((provider, channel), [0, 0])
        pair[0 if state == "delivered" else 1] += int(n)
    return [Outcomes(p, c, d, f) for (p, c), (d, f) in sorted(counts.items())]


def failures(session: Session, since: datetime) -> dict[str, int]:
    rows = session.execute(
        select(Message.provider, func.count())
        .where(
            Message.updated_at >= since,
            Message.completed_at >= since,
            Message.state == "failed",
            Message.attempts > 0,
        )
        .group_by(Message.provider)
    ).all()
    return {provider: int(n) for provider, n in rows}


def waiting(session: Session, now: datetime) -> list[Waiting]:
    """Per lane: messages due and not sent yet, and the oldest one's creation."""
    rows = session.execute(
        select(Message.priority, func.count(), func.min(Message.created_at))
        .join(Job, Job.job_id == Message.job_id)
        .where(
            Message.state.in_(_WAITING),
            (Message.not_before.is_(None)) | (Message.not_before <= now),
            Job.status.not_in(_HELD_JOBS),
        )
        .group_by(Message.priority)
    ).all()
    lanes: dict[str, tuple[int, datetime]] = {}
    for priority, n, oldest in rows:
        name = lane_of(int(priority)).name.lower()
        count, first = lanes.get(name, (0, as_utc(oldest)))
        lanes[name] = (count + int(n), min(first, as_utc(oldest)))
    return [Waiting(lane, n, oldest) for lane, (n, oldest) in sorted(lanes.items())]


def agents(session: Session) -> list[AgentBeat]:
    """Agents that say they are running; a stopped one left on purpose."""
    rows = session.execute(
        select(Agent.agent_id, Agent.heartbeat_at, Agent.lease_seconds).where(
            Agent.state == "running"
        )
    ).all()
    return [AgentBeat(a, as_utc(h), int(s)) for a, h, s in rows]


def missing_receipts(session: Session, before: datetime) -> dict[str, tuple[int, datetime]]:
    """Per provider: messages submitted before ``before`` still without a final receipt."""
    rows = session.execute(
        select(Message.provider, func.count(), func.min(Message.submitted_at))
        .where(Message.state.in_(_IN_FLIGHT), Message.submitted_at <= before)
        .group_by(Message.provider)
    ).all()
    return {p: (int(n), as_utc(oldest)) for p, n, oldest in rows if oldest is not None}


def budgets(session: Session, settings: Settings, now: datetime) -> list[BudgetUse]:
    """This Korea-time month's budgets and each department's spent + committed."""
    from ums_pipelines.store.compliance import DepartmentBudget

    month = month_of(now, settings)
    found = []
    for row in session.scalars(select(DepartmentBudget).where(DepartmentBudget.month == month)):
        spend = month_spend(session, settings, row.department, month)
        found.append(
            BudgetUse(row.department, month, Decimal(row.budget_krw), spend.spent + spend.committed)
        )
    return found


def _submitted_since(session: Session, since: datetime) -> dict[str, int]:
    rows = session.execute(
        select(Message.provider, func.count())
        .where(Message.updated_at >= since, Message.submitted_at >= since)
        .group_by(Message.provider)
    ).all()
    return {p: int(n) for p, n in rows}


def quotas(session: Session, settings: Settings, now: datetime) -> list[QuotaUse]:
    """Use of each provider's hourly cap (the rate limiter's ``per_hour``, an hour of the
    UTC clock like its window) and of the daily caps in the settings (Korea-time day)."""
    found: list[QuotaUse] = []
    hourly: dict[str, int] = {
        p: int(c)
        for p, c in session.execute(
            select(ProviderBucket.provider, ProviderBucket.per_hour).where(
                ProviderBucket.per_hour.is_not(None)
            )
        ).all()
        if c is not None
    }
    if hourly:
        hour = now.replace(minute=0, second=0, microsecond=0)
        used = _submitted_since(session, hour)
        found += [QuotaUse(p, "hour", used.get(p, 0), int(c)) for p, c in sorted(hourly.items())]
    caps = settings.alert_provider_daily_caps
    if caps:
        local = as_utc(now).astimezone(settings.tz)
        start = as_utc(local.replace(hour=0, minute=0, second=0, microsecond=0))
        used = _submitted_since(session, start)
        found += [QuotaUse(p, "day", used.get(p, 0), int(c)) for p, c in sorted(caps.items())]
    return found
