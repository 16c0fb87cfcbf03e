"""Run the declared model checks (``sql/schema.yml``) on the analytics file.

Every check becomes one query that selects the failing rows (or groups); the result is
their count and a few of them, shown by the model's key. Identifiers in the SQL come only
from the model registry and from the built table's own columns (a declared column the
table lacks is an error naming it), always quoted; values are bind parameters.
Reconciliation with the store counts the store side per Korea day with SQLAlchemy and
compares day by day, over the days the store still holds in full (its retention window:
older days live on in the analytics copy after the store has purged them). A day passes
when the model has at least the rows the last export had to hold and at most what the
store has now: rows that arrived after the export are lag, not an error, and once a day
is closed both bounds are the same number.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import duckdb

from ums_pipelines.analytics.declarations import (
    CheckDeclarationError,
    CheckSpec,
    ModelChecks,
    load_declarations,
)
from ums_pipelines.analytics.models import read_only_connection
from ums_pipelines.analytics.store_counts import store_counts_by_day, window_start
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store, utcnow

__all__ = ["SAMPLE_ROWS", "CheckResult", "run_checks", "run_model_checks", "table_columns"]

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class CheckResult:
    spec: CheckSpec
    passed: bool
    failing: int  # rows (unique/not_null/...), or days whose counts differ (reconciliation)
    samples: tuple[dict[str, Any], ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None


def run_checks(
    settings: Settings,
    *,
    store: Store | None = None,
    declarations: dict[str, ModelChecks] | None = None,
    now: datetime | None = None,
) -> dict[str, list[CheckResult]]:
    """Every declared check of every model, by model."""
    declared = declarations if declarations is not None else load_declarations()
    return {
        model: run_model_checks(settings, checks, store=store, now=now)
        for model, checks in declared.items()
    }


def run_model_checks(
    settings: Settings,
    declared: ModelChecks,
    *,
    names: Iterable[str] | None = None,
    store: Store | None = None,
    now: datetime | None = None,
) -> list[CheckResult]:
    """The checks of one model (``names``: only those), on one read-only connection.

    A missing analytics file, an unbuilt table or a declared column the table lacks fails
    each affected check with the reason, rather than raising: a scheduled run reports
    all of them at once.
    """
    wanted = set(names) if names is not None else None
    specs = [c for c in declared.checks if wanted is None or c.name in wanted]
    try:
        with read_only_connection(settings) as conn:
            columns = table_columns(conn, declared.model)
            return [
                _run_one(conn, spec, declared.key, columns, settings, store, now) for spec in specs
            ]
    except FileNotFoundError as exc:
        return [CheckResult(spec, passed=False, failing=0, error=str(exc)) for spec in specs]


def table_columns(conn: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The columns of a built model table (empty when it is not built)."""
    rows = conn.execute(
        "SELECT column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() AND table_name = ?",
        [table],
    ).fetchall()
    return {str(r[0]) for r in rows}


def _run_one(
    conn: duckdb.DuckDBPyConnection,
    spec: CheckSpec,
    key: tuple[str, ...],
    columns: set[str],
    settings: Settings,
    store: Store | None,
    now: datetime | None,
) -> CheckResult:
    started = time.perf_counter()
    try:
        _require(spec.model, columns, [*key, *spec.referenced_columns()])
        if spec.kind == "relationships":
            assert spec.to_model is not None
            _require(spec.to_model, table_columns(conn, spec.to_model), spec.to_columns)
        if spec.kind == "reconciles_with_store":
            result = _reconcile(conn, spec, settings, store, now or utcnow())
        else:
            result = _rows_check(conn, spec, key)
    except (CheckDeclarationError, duckdb.Error) as exc:
        result = CheckResult(spec, passed=False, failing=0, error=str(exc)[:500])
    return replace(result, seconds=round(time.perf_counter() - started, 3))


def _require(table: str, columns: set[str], wanted: Iterable[str]) -> None:
    if not columns:
        raise CheckDeclarationError(f"{table} is not built yet: run the models")
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise CheckDeclarationError(
            f"{table} has no column {', '.join(map(repr, missing))}; "
            f"it has: {', '.join(sorted(columns))}"
        )


def _rows_check(
    conn: duckdb.DuckDBPyConnection, spec: CheckSpec, key: tuple[str, ...]
) -> CheckResult:
    failing_sql, params, counted = _failing_rows(spec, key)
    # ``counted`` is the column holding each failing group's row count (1 per plain row).
    total = conn.execute(
        f"SELECT coalesce(sum({counted}), 0) FROM ({failing_sql})",  # noqa: S608
        params,
    ).fetchone()
    failing = int(total[0]) if total else 0
    cur = conn.execute(f"SELECT * FROM ({failing_sql}) LIMIT {SAMPLE_ROWS}", params)  # noqa: S608
    names = [d[0] for d in cur.description or []]
    samples = tuple(
        {n: _plain(v) for n, v in zip(names, row, strict=True) if n != "_n"}
        for row in cur.fetchall()
    )
    return CheckResult(spec, passed=failing == 0, failing=failing, samples=samples)


def _failing_rows(spec: CheckSpec, key: tuple[str, ...]) -> tuple[str, list[Any], str]:
    """SQL selecting the failing rows (or groups, with their size in ``_n``)."""
    table = _quote(spec.model)
    keys = ", ".join(map(_quote, key))
    cols = [_quote(c) for c in spec.columns]
    if spec.kind == "unique":
        # NULLs group together: a key is a grain, and two rows of one NULL key are a repeat.
        listed = ", ".join(cols)
        sql = (
            f"SELECT {listed}, count(*) AS _n FROM {table} "  # noqa: S608
            f"GROUP BY {listed} HAVING count(*) > 1 ORDER BY {listed}"
        )
        return sql, [], "_n"
    if spec.kind == "not_null":
        nulls = " OR ".join(f"{c} IS NULL" for c in cols)
        return f"SELECT {keys}, 1 AS _n FROM {table} WHERE {nulls} ORDER BY {keys}", [], "_n"  # noqa: S608
    if spec.kind == "accepted_values":
        [col] = cols
        marks = ", ".join("?" for _ in spec.values)
        sql = (
            f"SELECT {col}, count(*) AS _n FROM {table} "  # noqa: S608
            f"WHERE {col} IS NOT NULL AND {col} NOT IN ({marks}) GROUP BY {col} ORDER BY {col}"
        )
        return sql, list(spec.values), "_n"
    if spec.kind == "relationships":
        assert spec.to_model is not None
        parent = _quote(spec.to_model)
        joined = " AND ".join(
            f"p.{_quote(t)} = c.{c}" for c, t in zip(cols, spec.to_columns, strict=True)
        )
        present = " AND ".join(f"c.{c} IS NOT NULL" for c in cols)
        picked = ", ".join(
            dict.fromkeys([*(f"c.{_quote(k)}" for k in key), *(f"c.{c}" for c in cols)])
        )
        sql = (
            f"SELECT {picked}, 1 AS _n FROM {table} AS c WHERE {present} "  # noqa: S608
            f"AND NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE {joined}) ORDER BY {picked}"
        )
        return sql, [], "_n"
    if spec.kind == "expression":
        assert spec.expression is not None
        # Validated: only this table's columns, literals, operators and listed functions.
        sql = (
            f"SELECT {keys}, 1 AS _n FROM {table} "  # noqa: S608
            f"WHERE ({spec.expression}) IS NOT TRUE ORDER BY {keys}"
        )
        return sql, [], "_n"
    raise CheckDeclarationError(f"{spec.model}.{spec.name}: {spec.kind} is not a row check")


def _reconcile(
    conn: duckdb.DuckDBPyConnection,
    spec: CheckSpec,
    settings: Settings,
    store: Store | None,
    now: datetime,
) -> CheckResult:
    assert spec.store_table is not None and spec.day is not None
    if store is None:
        raise CheckDeclarationError(f"{spec.model}.{spec.name}: needs the store to compare with")
    start = window_start(settings, spec.store_table, now)
    measure = "count(*)" if spec.measure is None else f"sum({_quote(spec.measure)})"
    day = _quote(spec.day)
    rows = conn.execute(
        f"SELECT {day}, {measure} FROM {_quote(spec.model)} "  # noqa: S608
        f"WHERE {day} >= ? GROUP BY {day}",
        [start],
    ).fetchall()
    ours = {_as_date(d): int(n or 0) for d, n in rows if d is not None}
    theirs = store_counts_by_day(store, settings, spec.store_table, start)
    # A day agrees when the model holds at least what the last export had to hold and no
    # more than the store has now; a closed day's two bounds are one number.
    days = sorted(set(ours) | set(theirs.now))
    differ = [
        d for d in days if not theirs.exported.get(d, 0) <= ours.get(d, 0) <= theirs.now.get(d, 0)
    ]
    samples = tuple(
        {
            "day": d.isoformat(),
            "model": ours.get(d, 0),
            "store": theirs.now.get(d, 0),
            "store_exported": theirs.exported.get(d, 0),
        }
        for d in differ[:SAMPLE_ROWS]
    )
    details = {
        "model_total": sum(ours.values()),
        "store_total": sum(theirs.now.values()),
        "store_total_exported": sum(theirs.exported.values()),
        "days_compared": len(days),
        "window_start": start.isoformat(),
        "export_cut": theirs.cut.isoformat() if theirs.cut else "none",
    }
    return CheckResult(spec, not differ, len(differ), samples, details)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _plain(value: Any) -> Any:
    """Sample values as JSON-friendly scalars (dates as ISO text)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
