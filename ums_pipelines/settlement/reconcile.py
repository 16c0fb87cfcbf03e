"""A provider's invoice against what we delivered through it in one Korea-time month.

Per message type, the invoice's count, unit price and amount are compared with our
delivered rows (test sends included: the provider bills them). With a detail file each
billed message is matched to ours by provider message id or client key, and the
message-level differences are listed; a type's count or amount difference is then only
what those messages do not explain, so every planted difference shows up once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select

from ums_pipelines.settings import Settings
from ums_pipelines.settlement.invoice import DetailLine, InvoiceLine
from ums_pipelines.settlement.totals import month_bounds, unit_price
from ums_pipelines.store.engine import Store, as_utc
from ums_pipelines.store.models import Message

__all__ = ["KINDS", "Difference", "Reconciliation", "TypeTotals", "reconcile"]

# What a difference can be; the first three per message type, the rest per message.
KINDS = (
    "count",
    "unit_price",
    "amount",
    "billed_not_delivered",
    "billed_other_month",
    "billed_twice",
    "delivered_not_billed",
    "price",
    "message_type",
)
_CHUNK = 500


@dataclass(frozen=True)
class Difference:
    kind: str
    message_type: str
    ours: str | None = None
    billed: str | None = None
    message_key: str | None = None
    line: int | None = None  # in the invoice (per type) or the detail file (per message)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class TypeTotals:
    message_type: str
    delivered: int
    amount: Decimal
    billed: int
    billed_amount: Decimal


@dataclass
class Reconciliation:
    provider: str
    month: str
    types: list[TypeTotals] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return not self.differences


@dataclass
class _Ours:
    id: int
    keys: tuple[str, ...]
    message_type: str
    state: str
    unit: Decimal
    in_month: bool


# Only what matching needs: a month of a bulk provider is millions of rows, bodies not read.
_COLUMNS = (
    Message.id,
    Message.provider_message_id,
    Message.idempotency_key,
    Message.message_type,
    Message.state,
    Message.unit_price,
    func.coalesce(Message.submitted_at, Message.created_at),
)


def _month_rows(store: Store, settings: Settings, provider: str, month: str) -> list[_Ours]:
    start, end = month_bounds(month, settings)
    when = func.coalesce(Message.submitted_at, Message.created_at)
    query = select(*_COLUMNS).where(
        Message.provider == provider,
        Message.state == "delivered",
        when >= start,
        when < end,
    )
    with store.reading() as session:
        return [_ours(settings, provider, row, True) for row in session.execute(query)]


def _ours(settings: Settings, provider: str, row: Any, in_month: bool) -> _Ours:
    mid, pmid, key, mtype, state, stored, _ = row
    keys = tuple(k for k in (pmid, key) if k)
    unit = unit_price(settings, provider, mtype, stored) if state == "delivered" else Decimal(0)
    return _Ours(int(mid), keys, mtype, state, unit, in_month)


def _by_keys(
    store: Store, settings: Settings, provider: str, keys: Sequence[str], month: str
) -> dict[str, _Ours]:
    """Our messages through ``provider`` a billed key names, in any month or state."""
    start, end = month_bounds(month, settings)
    found: dict[str, _Ours] = {}
    with store.reading() as session:
        for i in range(0, len(keys), _CHUNK):
            chunk = list(keys[i : i + _CHUNK])
            query = select(*_COLUMNS).where(
                Message.provider == provider,
                or_(Message.provider_message_id.in_(chunk), Message.idempotency_key.in_(chunk)),
            )
            for row in session.execute(query):
                when = row[-1]
                in_month = when is not None and start <= as_utc(when) < end
                ours = _ours(settings, provider, row, in_month)
                for k in ours.keys:
                    found[k] = ours
    return found


def reconcile(
    store: Store,
    settings: Settings,
    provider: str,
    month: str,
    invoice: Sequence[InvoiceLine],
    detail: Sequence[DetailLine] | None = None,
    *,
    tolerance: Decimal = Decimal(1),
) -> Reconciliation:
    """Every difference between the invoice (and its detail) and our delivered rows;
    amounts within ``tolerance`` won of ours are rounding, not a difference."""
    ours = _month_rows(store, settings, provider, month)
    result = Reconciliation(provider, month)
    explained_n: Counter[str] = Counter()
    explained_amt: defaultdict[str, Decimal] = defaultdict(Decimal)
    if detail is not None:
        diffs = _match_detail(store, settings, provider, month, ours, detail)
        result.differences.extend(diffs)
        for d, n, amt in _effects(diffs):
            explained_n[d] += n
            explained_amt[d] += amt
    count: Counter[str] = Counter()
    amount: defaultdict[str, Decimal] = defaultdict(Decimal)
    prices: defaultdict[str, set[Decimal]] = defaultdict(set)
    for row in ours:
        count[row.message_type] += 1
        amount[row.message_type] += row.unit
        prices[row.message_type].add(row.unit)
    billed = {line.message_type: line for line in invoice}
    for mtype in sorted(set(count) | set(billed)):
        line = billed.get(mtype)
        inv_n, inv_amt = (line.count, line.amount) if line else (0, Decimal(0))
        result.types.append(TypeTotals(mtype, count[mtype], amount[mtype], inv_n, inv_amt))
        at = line.line if line else None
        residual = inv_n - count[mtype] - explained_n[mtype]
        if residual:
            ours_n = str(count[mtype] + explained_n[mtype])
            result.differences.append(Difference("count", mtype, ours_n, str(inv_n), line=at))
        ours_unit = next(iter(prices[mtype])) if len(prices[mtype]) == 1 else None
        if line is not None and ours_unit is not None and line.unit_price != ours_unit:
            text = (_text(ours_unit), _text(line.unit_price))
            result.differences.append(Difference("unit_price", mtype, *text, line=at))
            continue  # the price explains the amount
        unit = line.unit_price if line else Decimal(0)
        expected = amount[mtype] + explained_amt[mtype] + residual * unit
        if abs(inv_amt - expected) > tolerance:
            text = (_text(expected), _text(inv_amt))
            result.differences.append(Difference("amount", mtype, *text, line=at))
    return result


def _match_detail(
    store: Store,
    settings: Settings,
    provider: str,
    month: str,
    ours: Sequence[_Ours],
    detail: Sequence[DetailLine],
) -> list[Difference]:
    keys = sorted({line.message_key for line in detail})
    known = _by_keys(store, settings, provider, keys, month)
    billed_ids: set[int] = set()
    seen: set[str] = set()
    diffs: list[Difference] = []
    for line in detail:
        row = known.get(line.message_key)
        # One message billed under both of its keys is billed twice too.
        ident = f"#{row.id}" if row is not None else line.message_key
        amt = _text(line.amount)

        def add(
            kind: str, mtype: str, ours: str | None = None, billed: str = amt, at: DetailLine = line
        ) -> None:
            diffs.append(Difference(kind, mtype, ours, billed, at.message_key, at.line))

        if ident in seen:
            add("billed_twice", line.message_type)
            continue
        seen.add(ident)
        if row is None or row.state != "delivered":
            add("billed_not_delivered", line.message_type, "unknown" if row is None else row.state)
            continue
        billed_ids.add(row.id)
        if not row.in_month:
            add("billed_other_month", line.message_type, "other month")
        elif row.message_type != line.message_type:
            ours_text = f"{row.message_type} {_text(row.unit)}"
            add("message_type", row.message_type, ours_text, f"{line.message_type} {amt}")
        elif line.amount != row.unit:
            add("price", row.message_type, _text(row.unit))
    for row in ours:
        if row.id not in billed_ids:
            key = row.keys[0] if row.keys else f"#{row.id}"
            diffs.append(
                Difference("delivered_not_billed", row.message_type, _text(row.unit), None, key)
            )
    return diffs


def _text(amount: Decimal) -> str:
    return f"{amount.normalize():f}"


def _effects(diffs: Sequence[Difference]) -> list[tuple[str, int, Decimal]]:
    """What each message-level difference does to its type's count and amount."""
    out: list[tuple[str, int, Decimal]] = []
    for d in diffs:
        if d.kind in ("billed_not_delivered", "billed_twice", "billed_other_month"):
            out.append((d.message_type, 1, Decimal(d.billed or 0)))
        elif d.kind == "delivered_not_billed":
            out.append((d.message_type, -1, -Decimal(d.ours or 0)))
        elif d.kind == "price":
            out.append((d.message_type, 0, Decimal(d.billed or 0) - Decimal(d.ours or 0)))
        elif d.kind == "message_type":
            billed_type, billed_amt = (d.billed or "").split(" ")
            ours_amt = Decimal((d.ours or "").split(" ")[1])
            out.append((billed_type, 1, Decimal(billed_amt)))
            out.append((d.message_type, -1, -ours_amt))
    return out
