"""What a job costs: only delivered legs are billed, per message type.

Providers charge per delivered message; a leg that failed (and fell back) or expired is
not charged. The prices are defaults in KRW per message, roughly the Korean market's
bulk rates, meant to be overridden with the bank's contract prices: per provider and
message type in a JSON file (``UMS_PRICES_FILE``: ``{"sim-sms": {"SMS": 8.8}, "*":
{...}}``, ``*`` for every provider). The price in force when a provider accepts a
message is stored on it (``messages.unit_price``); a bill uses the stored price.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

from sqlalchemy import Numeric, and_, case, func, literal, select, update
from sqlalchemy.orm import Session

from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store
from ums_pipelines.store.models import Message

__all__ = [
    "ANY_PROVIDER",
    "DEFAULT_PRICES_KRW",
    "Bill",
    "BillLine",
    "bill",
    "price_accepted",
    "price_of",
    "price_table",
    "prices_of",
]

ANY_PROVIDER = "*"
# KRW per delivered message (defaults; pass the contract's table to ``bill``).
DEFAULT_PRICES_KRW: Mapping[str, Decimal] = {
    "SMS": Decimal("9.9"),
    "LMS": Decimal("30"),
    "MMS": Decimal("100"),
    "INTL_SMS": Decimal("120"),
    "RCS_SMS": Decimal("8"),
    "RCS_LMS": Decimal("27"),
    "RCS_MMS": Decimal("85"),
    "RCS_TEMPLATE": Decimal("7"),
    "ALIMTALK": Decimal("7.5"),
    "FRIENDTALK_TEXT": Decimal("15"),
    "FRIENDTALK_IMAGE": Decimal("25"),
    "FRIENDTALK_WIDE": Decimal("30"),
    "BRAND": Decimal("20"),
    "PUSH": Decimal("0"),
    "FCM": Decimal("0"),
    "APNS": Decimal("0"),
    "EMAIL": Decimal("0.5"),
    "DM": Decimal("450"),
}

PriceTable = dict[str, dict[str, Decimal]]


def price_table(settings: Settings) -> PriceTable:
    """``{provider: {message_type: KRW}}``: the defaults under ``*``, then the file's."""
    table: PriceTable = {ANY_PROVIDER: dict(DEFAULT_PRICES_KRW)}
    if settings.prices_file is None:
        return table
    try:
        raw = json.loads(settings.prices_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"prices_file: cannot read {settings.prices_file}: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError("prices_file: must be a JSON object of providers")
    for provider, prices in raw.items():
        if not isinstance(prices, dict):
            raise ValueError(f"prices_file: {provider}: must be an object of message types")
        for kind, value in prices.items():
            try:
                price = Decimal(str(value))
            except InvalidOperation:
                text = f"prices_file: {provider}.{kind}: {value!r} is not a number"
                raise ValueError(text) from None
            if not price.is_finite() or price < 0:
                raise ValueError(f"prices_file: {provider}.{kind}: must be 0 or more")
            table.setdefault(str(provider), {})[str(kind)] = price
    return table


@functools.lru_cache(maxsize=8)
def _cached_table(path: str | None, mtime: float) -> tuple[tuple[str, str, Decimal], ...]:
    table = price_table(Settings(prices_file=Path(path) if path else None))
    return tuple((p, k, v) for p, prices in table.items() for k, v in prices.items())


def price_of(settings: Settings, provider: str, message_type: str) -> Decimal | None:
    """The price in force for one message: the provider's own, else the default."""
    path = settings.prices_file
    mtime = path.stat().st_mtime if path is not None and path.exists() else 0.0
    found: Decimal | None = None
    for p, k, v in _cached_table(str(path) if path else None, mtime):
        if k != message_type:
            continue
        if p == provider:
            return v
        if p == ANY_PROVIDER:
            found = v
    return found


class _Priced(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def message_type(self) -> str: ...


def prices_of(settings: Settings, provider: str, rows: Sequence[_Priced]) -> dict[int, Decimal]:
    """The price in force for each of a sent batch's rows (by id), one lookup per type."""
    by_type: dict[str, Decimal | None] = {}
    prices: dict[int, Decimal] = {}
    for row in rows:
        if row.message_type not in by_type:
            by_type[row.message_type] = price_of(settings, provider, row.message_type)
        price = by_type[row.message_type]
        if price is not None:
            prices[row.id] = price
    return prices


def price_accepted(session: Session, settings: Settings, ids: Sequence[int]) -> None:
    """Store the price in force on messages a provider just accepted: one UPDATE for the
    batch, the price picked per row by provider and message type in SQL."""
    if not ids:
        return
    path = settings.prices_file
    mtime = path.stat().st_mtime if path is not None and path.exists() else 0.0
    entries = _cached_table(str(path) if path else None, mtime)
    # Provider-specific prices first: CASE takes the first match.
    whens = [
        (and_(Message.provider == p, Message.message_type == k), literal(v, Numeric(12, 4)))
        for p, k, v in entries
        if p != ANY_PROVIDER
    ] + [
        (Message.message_type == k, literal(v, Numeric(12, 4)))
        for p, k, v in entries
        if p == ANY_PROVIDER
    ]
    session.execute(
        update(Message)
        .where(Message.id.in_(list(ids)), Message.unit_price.is_(None))
        .values(unit_price=case(*whens, else_=None)),
        execution_options={"synchronize_session": False},
    )


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
    """Billable counts and amounts per message type, from delivered rows only: at the
    price stored on each message when it was sent, ``prices`` for rows without one."""
    query = select(
        Message.message_type,
        Message.state,
        func.count(),
        func.sum(Message.unit_price),
        func.count(Message.unit_price),
    ).group_by(Message.message_type, Message.state)
    if job_id is not None:
        query = query.where(Message.job_id == job_id)
    result = Bill(job_id)
    with store.session() as session:
        rows = session.execute(query).all()
    for message_type, state, n, stored_sum, stored_n in rows:
        if state != "delivered":
            result.not_billed += int(n)
            continue
        unpriced = int(n) - int(stored_n)
        amount = Decimal(str(stored_sum)) if stored_n else Decimal(0)
        if unpriced:
            if message_type not in prices:
                raise KeyError(f"no price for message type {message_type!r}")
            amount += prices[message_type] * unpriced
        unit = amount / int(n) if int(n) else Decimal(0)
        result.lines[message_type] = BillLine(message_type, int(n), unit, amount)
    return result
