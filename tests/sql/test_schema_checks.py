"""sql/schema.yml over the seeded, exported store (both backends): every model is declared,
every declared column exists, and every check passes on good data."""

from __future__ import annotations

from pathlib import Path

from ums_pipelines.analytics import list_models, read_only_connection
from ums_pipelines.analytics.checks import run_checks, table_columns
from ums_pipelines.analytics.declarations import load_declarations
from ums_pipelines.lanes import CHANNELS
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store


def test_every_model_has_declared_checks() -> None:
    declared = load_declarations()
    missing = sorted({m.name for m in list_models()} - set(declared))
    assert missing == [], f"declare checks in sql/schema.yml for {missing} (docs/analytics.md)"
    for model, checks in declared.items():
        assert checks.checks, model
        assert checks.key, model


def test_every_declared_column_exists_in_its_built_table(
    built: dict[str, int], settings: Settings
) -> None:
    with read_only_connection(settings) as conn:
        for model, checks in load_declarations().items():
            columns = table_columns(conn, model)
            for spec in checks.checks:
                wanted = {*checks.key, *spec.referenced_columns()}
                assert wanted <= columns, (model, spec.name, wanted - columns)
                if spec.to_model:
                    assert set(spec.to_columns) <= table_columns(conn, spec.to_model)


def test_declared_channels_are_the_engines_channels() -> None:
    for checks in load_declarations().values():
        for spec in checks.checks:
            if spec.kind == "accepted_values" and spec.columns == ("channel",):
                assert set(spec.values) == set(CHANNELS), spec.model


def test_every_declared_check_passes_on_the_seed(
    built: dict[str, int], settings: Settings, store: Store
) -> None:
    results = run_checks(settings, store=store)
    failed = [
        (model, r.spec.name, r.failing, r.samples, r.error)
        for model, model_results in results.items()
        for r in model_results
        if not r.passed
    ]
    assert failed == []
    reconciled = results["rpt_daily_channel"][-1]
    assert reconciled.spec.kind == "reconciles_with_store"
    # 17 seeded messages on three Korea days (tests/sql/seed_analytics.py).
    assert reconciled.details["model_total"] == reconciled.details["store_total"] == 17
    assert reconciled.details["days_compared"] == 3


def test_schema_file_ships_with_the_models() -> None:
    # pyproject force-includes sql/ as ums_pipelines/_sql: schema.yml goes with it.
    from ums_pipelines.analytics.declarations import schema_path

    assert schema_path().parent == Path(__file__).resolve().parents[2] / "sql"
