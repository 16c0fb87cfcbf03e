"""Each job's recipients for the customer-overlap rule: the frozen target list (Parquet),
or the customers of its outbox rows when the list file is gone (purged, or a job sent
before lists were kept). Read once per check; only counts leave this module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.settings import Settings
from ums_pipelines.store.models import Message

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Customers"]


class Customers:
    """Each job's recipients, read once per check: the frozen targets (Parquet), or the
    customers of its outbox rows when the list file is gone."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self._session, self._settings = session, settings
        self._ids: dict[str, pl.Series | None] = {}

    def _read(self, job_id: str) -> pl.Series | None:
        import polars as pl

        from ums_pipelines.targets import targets_path

        path = targets_path(self._settings, job_id)
        if path.exists():
            # One row per customer already (the freeze takes each customer once): no
            # unique() pass, which cost more than the intersection on a million rows.
            return pl.read_parquet(path, columns=["customer_id"])["customer_id"]
        ids = self._session.scalars(
            select(Message.customer_id).where(Message.job_id == job_id).distinct()
        ).all()
        return pl.Series("customer_id", ids, dtype=pl.String) if ids else None

    def of(self, job_id: str) -> pl.Series | None:
        if job_id not in self._ids:
            self._ids[job_id] = self._read(job_id)
        return self._ids[job_id]

    def shared(self, a: str, b: str) -> int | None:
        first, second = self.of(a), self.of(b)
        if first is None or second is None:
            return None
        return int(first.is_in(second.implode()).sum())
