"""The customer profile a segment query sees: three tables of the store, copied read-only
into an in-memory DuckDB connection that can reach nothing else.

Only what selection needs is copied. Contact data (name, phone, e-mail, push token) is
left out: a segment picks customers by attributes, and whether a customer can be reached
is decided by target extraction, which reads the contacts itself. ``has_phone``,
``has_email`` and ``has_push`` say whether there is one, without the value. Times are
UTC without a zone (DuckDB's TIMESTAMP).

The store is read with SQLAlchemy in pages (no DuckDB extension: the sqlite and postgres
scanners are downloaded at run time, which a bank's servers cannot do), so the same code
serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl
from sqlalchemy import Select, select

from ums_pipelines.store.contact import OptOut
from ums_pipelines.store.engine import Store
from ums_pipelines.store.models import Consent, Customer

__all__ = ["PROFILE_COLUMNS", "PROFILE_TABLES", "load_profile", "profile_connection"]

_PAGE = 50_000

# table -> column -> Polars type: what a segment may select on (docs/targets.md).
PROFILE_COLUMNS: Mapping[str, Mapping[str, Any]] = {
    "customers": {
        "customer_id": pl.String,
        "branch": pl.String,
        "preferred_channel": pl.String,
        "push_platform": pl.String,
        "deceased": pl.Boolean,
        "last_transaction_at": pl.Datetime("us"),
        "last_transaction_kind": pl.String,
        "has_phone": pl.Boolean,
        "has_email": pl.Boolean,
        "has_push": pl.Boolean,
    },
    "consents": {
        "customer_id": pl.String,
        "channel": pl.String,
        "purpose": pl.String,
        "granted": pl.Boolean,
        "consented_at": pl.Datetime("us"),
    },
    "opt_outs": {
        "customer_id": pl.String,
        "channel": pl.String,
        "purpose": pl.String,
        "opted_out_at": pl.Datetime("us"),
        "withdrawn_at": pl.Datetime("us"),
    },
}
PROFILE_TABLES = frozenset(PROFILE_COLUMNS)


def _queries() -> dict[str, Select[*tuple[Any, ...]]]:
    return {
        "customers": select(
            Customer.customer_id,
            Customer.branch,
            Customer.preferred_channel,
            Customer.push_platform,
            Customer.deceased,
            Customer.last_transaction_at,
            Customer.last_transaction_kind,
            Customer.phone.is_not(None).label("has_phone"),
            Customer.email.is_not(None).label("has_email"),
            Customer.push_token.is_not(None).label("has_push"),
        ).order_by(Customer.customer_id),
        "consents": select(
            Consent.customer_id,
            Consent.channel,
            Consent.purpose,
            Consent.granted,
            Consent.consented_at,
        ).order_by(Consent.customer_id, Consent.channel, Consent.purpose),
        "opt_outs": select(
            OptOut.customer_id,
            OptOut.channel,
            OptOut.purpose,
            OptOut.opted_out_at,
            OptOut.withdrawn_at,
        ).order_by(OptOut.id),
    }


def _naive(value: object) -> object:
    # DuckDB compares TIMESTAMP WITH TIME ZONE in the session's zone; plain UTC keeps a
    # segment's "since 2026-01-01" independent of the server's zone.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _pages(
    store: Store, query: Select[*tuple[Any, ...]], schema: Mapping[str, Any]
) -> Iterator[pl.DataFrame]:
    names = list(schema)
    with store.reading() as session:
        result = session.connection().execute(query.execution_options(yield_per=_PAGE))
        for page in result.partitions():
            columns: list[list[object]] = [[] for _ in names]
            for row in page:
                for i, value in enumerate(row):
                    columns[i].append(_naive(value))
            yield pl.DataFrame(
                {n: pl.Series(n, c, dtype=schema[n]) for n, c in zip(names, columns, strict=True)}
            )


def load_profile(store: Store) -> dict[str, pl.DataFrame]:
    """The profile tables read from the store, page by page, only their profile columns."""
    frames: dict[str, pl.DataFrame] = {}
    for name, query in _queries().items():
        schema = PROFILE_COLUMNS[name]
        pages = list(_pages(store, query, schema))
        empty = pl.DataFrame(schema=dict(schema))
        frames[name] = pl.concat(pages, rechunk=True) if pages else empty
    return frames


def profile_connection(frames: Mapping[str, pl.DataFrame]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection holding only the profile tables, with file, network
    and extension access off and its configuration locked, so a query cannot turn them on."""
    conn = duckdb.connect(
        ":memory:",
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            # No lookup of Python variables by a table's name: only the registered tables.
            "python_enable_replacements": False,
        },
    )
    for name in PROFILE_TABLES:
        conn.register(name, frames[name].to_arrow())
    conn.execute("SET lock_configuration = true")
    return conn
