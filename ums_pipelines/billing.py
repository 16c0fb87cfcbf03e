"""What a job costs: only delivered legs are billed, per message type.

Providers charge per delivered message; a leg that failed (and fell back) or expired is
not charged. The prices are defaults in KRW per message, roughly the Korean market's
bulk rates, meant to be overridden with the bank's contract prices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select

from ums_pipelines.store.engine import Store
from ums_pipelines.store.models import Message

__all__ = ["DEFAULT_PRICES_KRW", "Bill", "BillLine", "bill"]

# KRW per delivered message (defaults; pass the contract's table to ``bill``).
DEFAULT_PRICES_KRW: Mapping[str, Decimal] = {
    "SMS": Decimal("9.9"),
    "LMS": Decimal("30"),
    "ALIMTALK": Decimal("7.5"),
    "PUSH": Decimal("0"),
    "EMAIL": Decimal("0.5"),
}


@dataclass(frozen=True)
class BillLine:
    message_type: str
    delivered: int
    unit_price: Decimal
    amount: Decimal


@dataclass
class Bill:
    job_id: str | None
    lines: dict[str, BillLine] = field(default_factory=dict)
    not_billed: int = 0  # rows that did not deliver: failed, expired, cancelled

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines.values()), Decimal(0))

    @property
    def billable(self) -> int:
        return sum(line.delivered for line in self.lines.values())


def bill(
    store: Store, job_id: str | None = None, prices: Mapping[str, Decimal] = DEFAULT_PRICES_KRW
) -> Bill:
    """Billable counts and amounts per message type, from delivered rows only."""
    query = select(Message.message_type, Message.state, func.count()).group_by(
        Message.message_type, Message.state
    )
    if job_id is not None:
        query = query.where(Message.job_id == job_id)
    result = Bill(job_id)
    with store.session() as session:
        rows = session.execute(query).all()
    for message_type, state, n in rows:
        if state != "delivered":
            result.not_billed += int(n)
            continue
        if message_type not in prices:
            raise KeyError(f"no price for message type {message_type!r}")
        unit = prices[message_type]
        result.lines[message_type] = BillLine(message_type, int(n), unit, unit * int(n))
    return result
