"""Department budgets per Korea-time month, and what a department has spent and committed.

A month's money is counted in three parts, all at the price table's ``*`` prices where a
message has no stored price (``billing.price_of``):

- spent: the department's delivered messages written that month, at their stored price;
- committed: its messages written that month and not yet final (queued, held, claimed,
  submitted, accepted), plus the estimated cost of its frozen jobs that have no message
  yet and would send that month (their ``not_before`` month, else the current one);
- remaining: the budget less both.

Failed, expired and cancelled messages are never billed, so they count nowhere. A job's
estimate is its frozen targets by first channel times the price of the message type that
channel's variant would go as (written text, before rendering: an SMS a long name
pushes into an LMS is under-estimated by the difference).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.billing import ANY_PROVIDER, price_of
from ums_pipelines.channels.rendering import message_type_for
from ums_pipelines.content.versions import template_variants
from ums_pipelines.lanes import TERMINAL_STATES
from ums_pipelines.settings import Settings
from ums_pipelines.store.compliance import DepartmentBudget
from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import Job, Message

__all__ = [
    "BudgetError",
    "MonthSpend",
    "estimate_cost",
    "first_channels",
    "job_month",
    "month_of",
    "month_spend",
    "set_budget",
]

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# Jobs that will send nothing more: their estimate is not committed.
_CLOSED = ("cancelled", "stopped", "done", "standing")


class BudgetError(ValueError):
    """A budget that cannot be set: a bad month, amount, department or actor."""


def month_of(when: datetime, settings: Settings) -> str:
    return as_utc(when).astimezone(settings.tz).strftime("%Y-%m")


def job_month(job: Job, settings: Settings) -> str:
    """The Korea-time month a job spends in: when its window opens, else now."""
    return month_of(job.not_before or utcnow(), settings)


def _check_month(month: str) -> tuple[int, int]:
    m = _MONTH.match(month)
    if m is None:
        raise BudgetError(f"month: {month!r} must be YYYY-MM")
    return int(m.group(1)), int(m.group(2))


def _bounds(month: str, settings: Settings) -> tuple[datetime, datetime]:
    year, mon = _check_month(month)
    start = datetime(year, mon, 1, tzinfo=settings.tz)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=settings.tz)
    return as_utc(start), as_utc(end)


def set_budget(
    session: Session, department: str, month: str, amount: str | int | Decimal, actor: str
) -> DepartmentBudget:
    """Set (or change) a department's budget for a month, audited with the old amount."""
    if not actor or not actor.strip():
        raise BudgetError("actor: who sets the budget must be named")
    if not department or not department.strip() or len(department) > 64:
        raise BudgetError(f"department: {department!r} must be 1-64 characters")
    _check_month(month)
    try:
        value = Decimal(str(amount).replace(",", ""))
    except InvalidOperation:
        raise BudgetError(f"amount: {amount!r} is not a number of won") from None
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        raise BudgetError(f"amount: {amount!r} must be a whole number of won, 0 or more")
    if value >= Decimal(10) ** 14:
        raise BudgetError(f"amount: {amount!r} is above 14 digits")
    row = session.get(DepartmentBudget, (department, month))
    old = row.budget_krw if row is not None else None
    if row is None:
        row = DepartmentBudget(department=department, month=month)
        session.add(row)
    row.budget_krw, row.set_by, row.set_at = value, actor, utcnow()
    audit.record(
        session,
        actor,
        "budget.set",
        "department",
        department,
        month=month,
        budget_krw=str(value),
        previous_krw=None if old is None else str(old),
    )
    return row


def first_channels(settings: Settings, job_id: str) -> dict[str, int]:
    """Frozen targets per first channel, read from the job's Parquet list."""
    # Imported here: targets runs the stage checks, which read budgets.
    from ums_pipelines.targets import targets_path

    path = targets_path(settings, job_id)
    if not path.exists():
        return {}
    chains = pl.read_parquet(path, columns=["chain"])["chain"].list.first()
    return {str(k): int(v) for k, v in chains.value_counts().iter_rows() if k is not None}


def _channel_type(job: Job, session: Session, channel: str) -> str | None:
    variant = template_variants(session, job.template_id, job.template_version).get(channel)
    if variant is None:
        return None
    try:
        return message_type_for(channel, variant.body, variant.subject, variant.payload)
    except ValueError:
        return None


def estimate_cost(
    session: Session, settings: Settings, job: Job, by_first: Mapping[str, int]
) -> Decimal:
    """Targets by first channel times the price of the type each channel's variant goes as."""
    total = Decimal(0)
    for channel, count in by_first.items():
        kind = _channel_type(job, session, channel)
        price = price_of(settings, ANY_PROVIDER, kind) if kind is not None else None
        total += (price or Decimal(0)) * count
    return total


@dataclass
class MonthSpend:
    department: str
    month: str
    budget: Decimal | None
    spent: Decimal
    committed: Decimal

    @property
    def remaining(self) -> Decimal | None:
        if self.budget is None:
            return None
        return self.budget - self.spent - self.committed


def _priced(settings: Settings, kind: str, n: int, stored: object, stored_n: int) -> Decimal:
    amount = Decimal(str(stored)) if stored_n else Decimal(0)
    unpriced = n - stored_n
    if unpriced:
        amount += (price_of(settings, ANY_PROVIDER, kind) or Decimal(0)) * unpriced
    return amount


def month_spend(
    session: Session,
    settings: Settings,
    department: str,
    month: str,
    *,
    exclude_job: str | None = None,
) -> MonthSpend:
    """Spent and committed money of the department's jobs in the month (module doc)."""
    start, end = _bounds(month, settings)
    rows = session.execute(
        select(
            Message.message_type,
            Message.state,
            func.count(),
            func.sum(Message.unit_price),
            func.count(Message.unit_price),
        )
        .join(Job, Job.job_id == Message.job_id)
        .where(
            Job.department == department,
            Message.created_at >= start,
            Message.created_at < end,
        )
        .group_by(Message.message_type, Message.state)
    ).all()
    spent = committed = Decimal(0)
    for kind, state, n, stored, stored_n in rows:
        amount = _priced(settings, kind, int(n), stored, int(stored_n))
        if state == "delivered":
            spent += amount
        elif state not in TERMINAL_STATES:
            committed += amount
    with_rows = select(Message.job_id).where(Message.job_id == Job.job_id).exists()
    pending = session.scalars(
        select(Job).where(
            Job.department == department,
            Job.target_count.is_not(None),
            Job.status.not_in(_CLOSED),
            ~with_rows,
        )
    ).all()
    for job in pending:
        if job.job_id == exclude_job or job_month(job, settings) != month:
            continue
        committed += estimate_cost(session, settings, job, first_channels(settings, job.job_id))
    budget = session.get(DepartmentBudget, (department, month))
    return MonthSpend(department, month, budget.budget_krw if budget else None, spent, committed)
