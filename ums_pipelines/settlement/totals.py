"""Monthly cost totals per department, channel and provider, from the outbox.

A message is counted in the Korea-time month it went to its provider (``submitted_at``;
a row never submitted, by when it was written). Only delivered rows are billed: a
failed leg (one that fell back to the next channel), an expired or cancelled row is
counted but costs nothing. Test sends (jobs with status ``test``) are billed by the
provider like any send but reported apart, so a department's spend is its real traffic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from ums_pipelines.billing import price_of
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store
from ums_pipelines.store.models import Job, Message

__all__ = [
    "DIMENSIONS",
    "CostLine",
    "SettlementError",
    "month_bounds",
    "roll_up",
    "settle",
    "unit_price",
]

DIMENSIONS = ("department", "channel", "provider", "message_type")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_NOT_BILLED = ("failed", "expired", "cancelled")


class SettlementError(ValueError):
    """Bad input to a cost report or reconciliation: the message names the field."""


@dataclass(frozen=True)
class CostLine:
    """One group's month: delivered (billed) rows and amount, test sends apart, and the
    rows that cost nothing. ``other`` counts rows still in flight."""

    department: str
    channel: str
    provider: str
    message_type: str
    delivered: int = 0
    amount: Decimal = Decimal(0)
    test_delivered: int = 0
    test_amount: Decimal = Decimal(0)
    failed: int = 0
    expired: int = 0
    cancelled: int = 0
    other: int = 0
    prices: frozenset[Decimal] = field(default_factory=frozenset)

    def key(self, by: Sequence[str]) -> tuple[str, ...]:
        return tuple(getattr(self, name) for name in by)


def month_bounds(month: str, settings: Settings) -> tuple[datetime, datetime]:
    """The UTC instants where a Korea-time ``YYYY-MM`` starts and the next one starts."""
    m = _MONTH.match(month)
    if m is None:
        raise SettlementError(f"month: {month!r} must be YYYY-MM")
    year, mon = int(m.group(1)), int(m.group(2))
    nxt = (year + 1, 1) if mon == 12 else (year, mon + 1)
    start = datetime(year, mon, 1, tzinfo=settings.tz).astimezone(UTC)
    end = datetime(nxt[0], nxt[1], 1, tzinfo=settings.tz).astimezone(UTC)
    return start, end


def settle(
    store: Store, settings: Settings, month: str, *, provider: str | None = None
) -> list[CostLine]:
    """Every department × channel × provider × message type with traffic in ``month``:
    delivered rows at the price stored at send, the price table's for rows without one."""
    start, end = month_bounds(month, settings)
    when = func.coalesce(Message.submitted_at, Message.created_at)
    query = (
        select(
            Job.department,
            Message.channel,
            Message.provider,
            Message.message_type,
            Message.state,
            Job.status,
            Message.unit_price,
            func.count(),
        )
        .join(Job, Job.job_id == Message.job_id)
        .where(when >= start, when < end)
        .group_by(
            Job.department,
            Message.channel,
            Message.provider,
            Message.message_type,
            Message.state,
            Job.status,
            Message.unit_price,
        )
    )
    if provider is not None:
        query = query.where(Message.provider == provider)
    with store.session() as session:
        rows = session.execute(query).all()
    lines: dict[tuple[str, str, str, str], CostLine] = {}
    for dept, channel, prov, mtype, state, status, stored, n in rows:
        is_test = status == "test"
        key = (dept, channel, prov, mtype)
        line = lines.get(key) or CostLine(dept, channel, prov, mtype)
        n = int(n)
        if state == "delivered":
            unit = unit_price(settings, prov, mtype, stored)
            if is_test:
                line = replace(
                    line,
                    test_delivered=line.test_delivered + n,
                    test_amount=line.test_amount + unit * n,
                )
            else:
                line = replace(line, delivered=line.delivered + n, amount=line.amount + unit * n)
            line = replace(line, prices=line.prices | {unit})
        elif state in _NOT_BILLED:
            line = replace(line, **{state: getattr(line, state) + n})
        else:
            line = replace(line, other=line.other + n)
        lines[key] = line
    return sorted(lines.values(), key=lambda c: c.key(DIMENSIONS))


def unit_price(settings: Settings, provider: str, message_type: str, stored: object) -> Decimal:
    """The stored price of a delivered row, else the price table's for it."""
    if stored is not None:
        return Decimal(str(stored)).normalize()
    price = price_of(settings, provider, message_type)
    if price is None:
        text = f"prices: no price for provider {provider!r} message type {message_type!r}"
        raise SettlementError(text)
    return price.normalize()


def roll_up(lines: Iterable[CostLine], by: Sequence[str]) -> list[CostLine]:
    """The lines summed over the dimensions not in ``by`` (those read ``*``)."""
    unknown = [name for name in by if name not in DIMENSIONS]
    if unknown:
        raise SettlementError(f"by: {', '.join(unknown)} not one of {', '.join(DIMENSIONS)}")
    out: dict[tuple[str, ...], CostLine] = {}
    for line in lines:
        k = line.key(by)
        dims = [str(getattr(line, name)) if name in by else "*" for name in DIMENSIONS]
        acc = out.get(k) or CostLine(dims[0], dims[1], dims[2], dims[3])
        out[k] = replace(
            acc,
            delivered=acc.delivered + line.delivered,
            amount=acc.amount + line.amount,
            test_delivered=acc.test_delivered + line.test_delivered,
            test_amount=acc.test_amount + line.test_amount,
            failed=acc.failed + line.failed,
            expired=acc.expired + line.expired,
            cancelled=acc.cancelled + line.cancelled,
            other=acc.other + line.other,
            prices=acc.prices | line.prices,
        )
    return [out[k] for k in sorted(out)]
