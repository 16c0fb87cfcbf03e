"""Parquet export of the store and the DuckDB SQL models in sql/, one asset per model."""

import time
from collections.abc import Iterator

import dagster as dg
import duckdb
from sqlalchemy import func, select

from ums_pipelines.analytics.checks import CheckResult, run_model_checks
from ums_pipelines.analytics.declarations import ModelChecks, load_declarations
from ums_pipelines.analytics.export import export_to_parquet
from ums_pipelines.analytics.models import list_models, read_only_connection, run_model
from ums_pipelines.resources import UmsResource
from ums_pipelines.store.models import Message

__all__ = ["ASSETS", "CHECKS", "DECLARED_CHECKS"]

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


def _declared_checks(declared: ModelChecks) -> dg.AssetChecksDefinition:
    """One op per model running the checks sql/schema.yml declares for it (any subset)."""
    model = declared.model

    @dg.multi_asset_check(
        name=f"{model}_declared_checks",
        specs=[
            dg.AssetCheckSpec(
                name=c.name,
                asset=model,
                description=c.description,
                metadata={"kind": c.kind, "declared_in": "sql/schema.yml"},
            )
            for c in declared.checks
        ],
        can_subset=True,
        description=f"The checks sql/schema.yml declares for {model}.",
    )
    def _checks(
        context: dg.AssetCheckExecutionContext, ums: UmsResource
    ) -> Iterator[dg.AssetCheckResult]:
        names = [k.name for k in context.selected_asset_check_keys]
        settings = ums.settings()
        with ums.open_store() as store:
            ums.authorize(store, "analytics.export")
            results = run_model_checks(settings, declared, names=names, store=store)
        for result in results:
            yield _check_result(model, result)

    return _checks


def _check_result(model: str, result: CheckResult) -> dg.AssetCheckResult:
    spec = result.spec
    metadata: dict[str, dg.RawMetadataValue] = {
        "kind": spec.kind,
        "failing": result.failing,
        "seconds": result.seconds,
        **result.details,
    }
    if result.samples:
        metadata["samples"] = dg.MetadataValue.json(list(result.samples))
    if result.error:
        metadata["error"] = result.error
    return dg.AssetCheckResult(
        asset_key=model,
        check_name=spec.name,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.WARN
        if spec.severity == "warn"
        else dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


DECLARED_CHECKS = [_declared_checks(d) for d in load_declarations().values()]

ASSETS = [store_parquet_export, *MODEL_ASSETS]
CHECKS = [fct_messages_reconciles, *DECLARED_CHECKS]
