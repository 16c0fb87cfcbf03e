"""Small helpers shared by the rate limiter and the circuit breaker."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

__all__ = ["NS", "Clock", "to_ns", "upsert"]

NS = 1_000_000_000
Clock = Callable[[], float]  # seconds since the epoch, the same on every sender process


def to_ns(seconds: float) -> int:
    return round(seconds * NS)


def upsert(
    session: Session, table: Table, values: Mapping[str, Any], update: Sequence[str] = ()
) -> None:
    """INSERT ... ON CONFLICT on the primary key, on both backends.

    Two senders creating the same provider row at once must not fail on the unique key:
    the loser's insert turns into nothing (or into an update of ``update`` columns).
    """
    dialect = session.get_bind().dialect.name
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = mod.insert(table).values(**values)
    keys = [c.name for c in table.primary_key.columns]
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={c: stmt.excluded[c] for c in update}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    session.execute(stmt)
