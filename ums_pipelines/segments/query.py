"""Running a segment: a parameterised DuckDB SELECT over the customer profile that returns
the ``customer_id`` of every customer it selects, under a row limit and a timeout."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from ums_pipelines.segments.guard import CheckedSql, SegmentError, check_segment_sql
from ums_pipelines.segments.profile import PROFILE_TABLES, load_profile, profile_connection
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store

__all__ = ["Params", "SegmentResult", "run_segment", "sql_sha256"]

# "$name" values by name, or "?"/"$1" values in order.
Params = Mapping[str, Any] | Sequence[Any]


@dataclass(frozen=True)
class SegmentResult:
    ids: pl.Series  # distinct customer ids, sorted
    sql_sha256: str
    params: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def count(self) -> int:
        return self.ids.len()

    def source(self) -> dict[str, Any]:
        """What the freeze's audit entry records of where its candidates came from."""
        return {
            "kind": "segment",
            "sql_sha256": self.sql_sha256,
            "params": self.params,
            "candidates": self.count,
        }


def sql_sha256(sql: str) -> str:
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()


def _bind(checked: CheckedSql, params: Params | None) -> tuple[Any, dict[str, str]]:
    names = checked.parameters
    positional = bool(names) and all(n.isdigit() for n in names)
    if params is None:
        params = [] if positional or not names else {}
    if isinstance(params, Mapping):
        if positional:
            raise SegmentError("params", "the SQL uses ? or $1 parameters: give values in order")
        missing = sorted(names - set(params))
        unused = sorted(set(params) - names)
        if missing:
            raise SegmentError("params", f"parameter ${missing[0]} has no value (--param)")
        if unused:
            raise SegmentError("params", f"parameter {unused[0]!r} is not used by the SQL")
        return dict(params), {k: str(v) for k, v in params.items()}
    values = list(params)
    if names and not positional:
        raise SegmentError("params", "the SQL uses $name parameters: give values by name")
    if len(values) != len(names):
        raise SegmentError(
            "params", f"the SQL has {len(names)} parameters, {len(values)} values were given"
        )
    return values, {str(i + 1): str(v) for i, v in enumerate(values)}


def run_segment(
    store: Store,
    settings: Settings,
    sql: str,
    params: Params | None = None,
    *,
    row_limit: int | None = None,
    timeout_s: float | None = None,
    profile: Mapping[str, pl.DataFrame] | None = None,
) -> SegmentResult:
    """The customer ids a segment selects; SegmentError when the SQL is refused, returns
    no ``customer_id`` column, selects more than the row limit or runs past the timeout.

    ``profile`` (from ``load_profile``) saves reading the store again for several
    segments; by default the profile is read now."""
    row_limit = settings.segment_row_limit if row_limit is None else row_limit
    timeout_s = settings.segment_timeout_s if timeout_s is None else timeout_s
    checked = check_segment_sql(sql, PROFILE_TABLES)
    bound, shown = _bind(checked, params)
    # The segment is SQL by design, checked above; values come only as bound parameters.
    # The newline ends a trailing "--" comment inside the parentheses; the wrapped query is
    # checked again, so nothing the user wrote can close them early.
    wrapped = (
        "SELECT DISTINCT CAST(customer_id AS VARCHAR) AS customer_id FROM (\n"  # noqa: S608
        f"{checked.query}\n) AS segment WHERE customer_id IS NOT NULL"
        f" ORDER BY customer_id LIMIT {int(row_limit) + 1}"
    )
    check_segment_sql(wrapped, PROFILE_TABLES)
    conn = profile_connection(profile if profile is not None else load_profile(store))
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        conn.interrupt()

    timer = threading.Timer(timeout_s, stop)
    started = time.monotonic()
    timer.start()
    try:
        # Bound, not run: the user's own columns, before the wrapper names customer_id.
        columns = [c.lower() for c in conn.sql(checked.query, params=bound).columns]
        if "customer_id" not in columns:
            raise SegmentError("no_customer_id", "the query must return a customer_id column")
        table = conn.sql(wrapped, params=bound).to_arrow_table()
    except duckdb.Error as exc:
        if timed_out.is_set():
            raise SegmentError(
                "timeout", f"the query ran longer than {timeout_s:g} s and was stopped"
            ) from None
        raise SegmentError("query", f"the query failed: {exc}") from None
    finally:
        timer.cancel()
        conn.close()
    elapsed = time.monotonic() - started
    column = table.column("customer_id") if table is not None else []
    ids = pl.Series("customer_id", column, dtype=pl.String)
    if ids.len() > row_limit:
        raise SegmentError(
            "row_limit",
            f"the query selects more than {row_limit:,} customers (UMS_SEGMENT_ROW_LIMIT);"
            " narrow it or split the job",
        )
    return SegmentResult(ids, sql_sha256(sql), shown, elapsed)
