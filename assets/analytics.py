"""Parquet export of the store and the DuckDB SQL models in sql/, one asset per model."""

import time

import dagster as dg
import duckdb
from sqlalchemy import func, select

from ums_pipelines.analytics.export import export_to_parquet
from ums_pipelines.analytics.models import list_models, read_only_connection, run_model
from ums_pipelines.resources import UmsResource
from ums_pipelines.store.models import Message

__all__ = ["ASSETS", "CHECKS"]

OWNERS = ["team:messaging-analytics"]
# Exactly one writer of the analytics file at a time (DESIGN.md §3).
DUCKDB_POOL = "ums_duckdb"


@dg.asset(
    deps=["job_dispatch", "delivery_receipts"],
    group_name="analytics",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    description="Messages and delivery events exported to Parquet, one partition per Korea day.",
)
def store_parquet_export(ums: UmsResource) -> dg.MaterializeResult[None]:
    started = time.monotonic()
    with ums.open_store() as store:
        ums.authorize(store, "analytics.export")
        result = export_to_parquet(store, ums.settings())
    return dg.MaterializeResult(
        metadata={
            **result.summary(),
            "seconds": round(time.monotonic() - started, 3),
        }
    )


def _model_asset(name: str, layer: str, deps: list[str]) -> dg.AssetsDefinition:
    upstream = deps or ["store_parquet_export"]

    @dg.asset(
        name=name,
        deps=upstream,
        group_name="analytics",
        owners=OWNERS,
        kinds={"duckdb", "sql"},
        pool=DUCKDB_POOL,
        description=f"DuckDB model sql/{layer}/{name}.sql materialised as a table.",
        metadata={"layer": layer},
    )
    def _asset(ums: UmsResource) -> dg.MaterializeResult[None]:
        result = run_model(name, ums.settings())
        return dg.MaterializeResult(
            metadata={"rows": result.rows, "seconds": round(result.seconds, 3)}
        )

    return _asset


MODEL_ASSETS = [_model_asset(m.name, m.layer, list(m.upstream_models)) for m in list_models()]


@dg.asset_check(
    asset="fct_messages",
    description="fct_messages has one row per message and as many messages as the store.",
)
def fct_messages_reconciles(ums: UmsResource) -> dg.AssetCheckResult:
    with ums.open_store() as store, store.session() as session:
        in_store = int(session.scalar(select(func.count()).select_from(Message)) or 0)
    try:
        with read_only_connection(ums.settings()) as con:
            row = con.execute(
                "select count(*), count(distinct message_id) from fct_messages"
            ).fetchone()
    except (duckdb.Error, FileNotFoundError) as exc:
        # No analytics file yet (or no table) is a failed check, not a crashed step.
        return dg.AssetCheckResult(passed=False, metadata={"error": str(exc)[:300]})
    rows, distinct = (int(row[0]), int(row[1])) if row else (0, 0)
    return dg.AssetCheckResult(
        passed=rows == distinct == in_store,
        metadata={"rows": rows, "distinct_ids": distinct, "store_messages": in_store},
    )


ASSETS = [store_parquet_export, *MODEL_ASSETS]
CHECKS = [fct_messages_reconciles]
