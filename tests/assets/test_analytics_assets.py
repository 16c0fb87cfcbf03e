"""Parquet export, DuckDB model assets, fct_messages_reconciles and the daily report asset."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg
import duckdb
import pytest

from assets.analytics import DECLARED_CHECKS, MODEL_ASSETS, fct_messages_reconciles
from reports import daily_report
from ums_pipelines.analytics.declarations import load_declarations
from ums_pipelines.definitions import defs, materialize_selection, open_instance
from ums_pipelines.resources import UmsResource
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store

SEEDED_MESSAGES = 17  # tests/sql/seed_analytics.py, every day
ANALYTICS = sorted(
    s.key.to_user_string() for s in defs.resolve_all_asset_specs() if s.group_name == "analytics"
)


def _meta(result: dg.ExecuteInProcessResult, node: str) -> dict[str, Any]:
    [mat] = result.asset_materializations_for_node(node)
    return {k: v.value for k, v in mat.metadata.items()}


def _reconciles(ums: UmsResource) -> tuple[bool, dict[str, Any]]:
    result = fct_messages_reconciles(dg.build_asset_check_context(resources={"ums": ums}))
    return result.passed, {k: v.value for k, v in (result.metadata or {}).items()}


@pytest.fixture
def dagster_instance(tmp_path: Path) -> dg.DagsterInstance:
    # The persistent instance the CLI uses (pool limits from its dagster.yaml).
    instance = open_instance(tmp_path / "dagster")
    yield instance
    instance.dispose()


def test_the_analytics_group_is_the_export_and_every_sql_model() -> None:
    models = {a.key.to_user_string() for a in MODEL_ASSETS}
    assert set(ANALYTICS) == {"store_parquet_export", *models}
    assert {"stg_messages", "fct_messages", "rpt_daily_channel"} <= models


def test_export_and_models_materialise_and_reconcile_with_the_store(
    ums: UmsResource,
    store: Store,
    seed: ModuleType,
    dagster_instance: dg.DagsterInstance,
) -> None:
    seed.seed_scenario(store)

    result = materialize_selection(dagster_instance, ums, ANALYTICS)

    assert result.success
    export = _meta(result, "store_parquet_export")
    assert export["messages_rows"] == SEEDED_MESSAGES
    assert export["messages_days"] == ["2025-03-09", "2025-03-10", "2025-03-11"]
    assert export["delivery_events_rows"] == 5
    fct = _meta(result, "fct_messages")
    assert fct["rows"] == SEEDED_MESSAGES
    for name in ANALYTICS:
        assert result.asset_materializations_for_node(name), name
    checks = {
        (c.asset_key.to_user_string(), c.check_name): c
        for c in result.get_asset_check_evaluations()
    }
    declared = {(m, c.name) for m, d in load_declarations().items() for c in d.checks}
    assert set(checks) == {
        ("fct_messages", "fct_messages_reconciles"),
        ("rpt_period_segment", "rpt_period_segment_adds_up"),
        *declared,
    }
    failed = {k: c.metadata for k, c in checks.items() if not c.passed}
    assert failed == {}
    check = checks["fct_messages", "fct_messages_reconciles"]
    assert check.metadata["store_messages"].value == SEEDED_MESSAGES
    # Declared checks carry their numbers: the daily report's requests equal the store's.
    daily = checks["rpt_daily_channel", "requested_reconciles_with_store"].metadata
    assert daily["model_total"].value == daily["store_total"].value == SEEDED_MESSAGES
    assert (daily["failing"].value, daily["kind"].value) == (0, "reconciles_with_store")
    # The runs are in the persistent instance, where the UI will show them.
    assert dagster_instance.get_run_by_id(result.run_id) is not None

    # Nothing changed: the export writes no file, the models rebuild the same rows.
    again = materialize_selection(dagster_instance, ums, ANALYTICS)
    assert _meta(again, "store_parquet_export")["messages_rows"] == 0
    assert _meta(again, "fct_messages")["rows"] == SEEDED_MESSAGES
    assert all(c.passed for c in again.get_asset_check_evaluations())


def test_reconcile_check_fails_when_the_store_has_moved_on(
    ums: UmsResource, store: Store, seed: ModuleType, dagster_instance: dg.DagsterInstance
) -> None:
    seed.seed_scenario(store)
    assert materialize_selection(dagster_instance, ums, ANALYTICS).success
    assert _reconciles(ums)[0]

    with store.session() as session:
        seed.add_message(
            session,
            "late-1",
            channel="sms",
            message_type="SMS",
            state="queued",
            created_at=seed.kst(seed.D2, 9),
        )

    passed, meta = _reconciles(ums)
    assert not passed
    assert (meta["rows"], meta["store_messages"]) == (SEEDED_MESSAGES, SEEDED_MESSAGES + 1)

    assert materialize_selection(dagster_instance, ums, ANALYTICS).success
    passed, meta = _reconciles(ums)
    assert passed and meta["rows"] == SEEDED_MESSAGES + 1


def test_reconcile_check_fails_before_any_model_is_built(ums: UmsResource) -> None:
    passed, meta = _reconciles(ums)
    assert not passed
    assert "error" in meta


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_daily_report_asset_renders_the_korea_day(
    ums: UmsResource, store: Store, settings: Settings, seed: ModuleType
) -> None:
    seed.seed_scenario(store)
    assert dg.materialize(
        [*[defs.get_assets_def(n) for n in ANALYTICS]], resources={"ums": ums}
    ).success

    with dg.build_asset_context(
        resources={"ums": ums}, partition_key=seed.D1.isoformat()
    ) as context:
        result = daily_report(context)

    assert isinstance(result, dg.MaterializeResult) and result.metadata is not None
    path = Path(str(result.metadata["path"].value))
    assert path == settings.reports_dir / "daily" / "2025-03-10.html"
    html = path.read_text(encoding="utf-8")
    assert result.metadata["bytes"] == len(html.encode("utf-8"))
    assert 'id="channel-table"' in html and 'id="channel-chart"' in html


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_declared_checks_report_failures_with_samples_and_severity(
    ums: UmsResource, store: Store, settings: Settings, seed: ModuleType
) -> None:
    ids = seed.seed_scenario(store)
    assert dg.materialize(
        [*[defs.get_assets_def(n) for n in ANALYTICS]], resources={"ums": ums}
    ).success
    conn = duckdb.connect(str(settings.analytics_path))
    try:  # plant a repeated message and an unknown state
        conn.execute(
            "insert into stg_messages select * from stg_messages where message_id = ?", [ids["p1"]]
        )
        conn.execute("update stg_messages set state = 'lost' where message_id = ?", [ids["s2"]])
    finally:
        conn.close()

    [checks_def] = [c for c in DECLARED_CHECKS if c.node_def.name == "stg_messages_declared_checks"]
    result = dg.materialize(
        [defs.get_assets_def("stg_messages"), checks_def],
        resources={"ums": ums},
        selection=dg.AssetSelection.checks(checks_def),
    )
    evaluations = {c.check_name: c for c in result.get_asset_check_evaluations()}
    declared = load_declarations()["stg_messages"]
    assert set(evaluations) == {c.name for c in declared.checks}
    assert not result.asset_materializations_for_node("stg_messages")  # checks only
    dup = evaluations["unique_message_id"]
    assert (dup.passed, dup.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert dup.metadata["failing"].value == 2
    assert dup.metadata["samples"].value == [{"message_id": ids["p1"]}]
    state = evaluations["accepted_values_state"]
    assert not state.passed and state.metadata["samples"].value == [{"state": "lost"}]
    # The duplicate also breaks the reconciliation (one more row on D1 than the store has).
    rec = evaluations["reconciles_with_store_messages"].metadata
    assert (rec["model_total"].value, rec["store_total"].value) == (18, 17)
    assert evaluations["not_null"].passed
