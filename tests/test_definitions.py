"""The composition root: every asset, check, job, sensor and schedule, and their metadata.

The spec tests iterate over whatever ``defs`` resolves to, so an asset added later without
an owner, group, description or kind fails here without anyone editing this file.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import dagster as dg
import pytest

from ums_pipelines.analytics import list_models
from ums_pipelines.definitions import defs

REPO_ROOT = Path(__file__).resolve().parents[1]

ASSETS = {
    "customer_profiles",
    "customer_db_sync",
    "job_targets",
    "job_dispatch",
    "delivery_receipts",
    "mo_replies",
    "store_parquet_export",
    "stg_messages",
    "stg_delivery_events",
    "fct_messages",
    "dim_channel",
    "rpt_daily_channel",
    "daily_report",
    "weekly_report",
    "monthly_report",
    "optout_confirmations",
    "consent_reconfirm_notices",
    "retention_purge",
    "operations_snapshot",
}
CHECKS = {
    ("customer_profiles", "customers_reachable"),
    ("job_dispatch", "no_duplicate_idempotency_keys"),
    ("job_dispatch", "messages_terminal_or_in_flight"),
    ("fct_messages", "fct_messages_reconciles"),
    ("rpt_period_segment", "rpt_period_segment_adds_up"),
    ("operations_snapshot", "no_red_lights"),
}
JOBS = {
    "dispatch_job",
    "receipts_job",
    "mo_job",
    "customer_sync_job",
    "customer_db_job",
    "analytics_job",
    "daily_report_job",
    "weekly_report_job",
    "monthly_report_job",
    "consent_notices_job",
    "retention_job",
    "operations_job",
}
SENSORS = {
    "new_jobs_sensor",
    "receipts_sensor",
    "mo_sensor",
    "customer_files_sensor",
    "customer_db_sensor",
    "review_decisions_sensor",
    "alerts_sensor",
    "alerts_run_failure_sensor",
    "alerts_run_success_sensor",
    "calendar_conflicts_sensor",
}
SCHEDULES = {
    "analytics_refresh",
    "daily_report_schedule",
    "weekly_report_schedule",
    "monthly_report_schedule",
    "consent_notices_schedule",
    "retention_schedule",
    "operations_snapshot_schedule",
}
OWNER_PREFIXES = ("team:",)


def _spec_id(spec: dg.AssetSpec) -> str:
    return spec.key.to_user_string()


# Sorted: pytest-xdist workers must collect the same parametrised ids in the same order.
SPECS = sorted(defs.resolve_all_asset_specs(), key=_spec_id)


def test_definitions_load_and_validate() -> None:
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert repo.name


def test_generic_top_level_packages_are_this_repository() -> None:
    # assets/, sensors/ and reports/ are generic names: they must not resolve to some
    # other installed distribution's package of the same name.
    for name in ("assets", "sensors", "reports"):
        module = importlib.import_module(name)
        assert module.__file__ is not None
        assert Path(module.__file__).resolve().parent == REPO_ROOT / name, module.__file__


def test_the_expected_assets_are_all_there() -> None:
    keys = {_spec_id(s) for s in SPECS}
    assert keys >= ASSETS, f"missing: {sorted(ASSETS - keys)}"


def _problems(spec: dg.AssetSpec) -> list[str]:
    problems = []
    if not spec.group_name or spec.group_name == "default":
        problems.append("no group")
    if not spec.owners:
        problems.append("no owner")
    problems += [
        f"owner {o!r} is neither a team nor an e-mail"
        for o in spec.owners
        if not (o.startswith(OWNER_PREFIXES) or "@" in o)
    ]
    if not (spec.description and spec.description.strip()):
        problems.append("no description")
    if not spec.kinds:
        problems.append("no kinds")
    return problems


@pytest.mark.parametrize("spec", SPECS, ids=_spec_id)
def test_every_asset_has_group_owner_description_and_kinds(spec: dg.AssetSpec) -> None:
    assert _problems(spec) == [], _spec_id(spec)


def test_an_asset_added_without_metadata_would_be_caught() -> None:
    @dg.asset
    def careless() -> None: ...

    merged = dg.Definitions.merge(defs, dg.Definitions(assets=[careless]))
    found = {_spec_id(s): _problems(s) for s in merged.resolve_all_asset_specs()}
    assert found["careless"] == ["no group", "no owner", "no description", "no kinds"]
    assert len(found) == len(SPECS) + 1


def test_every_asset_check_is_attached_to_an_asset_of_these_definitions() -> None:
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    found = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert found >= CHECKS, f"missing: {sorted(CHECKS - found)}"
    for asset, check in found:
        assert asset in keys, f"check {check} targets unknown asset {asset}"
        assert graph.get(dg.AssetKey(asset)).is_materializable, f"{check}: {asset}"


def test_every_sql_model_has_an_asset_check() -> None:
    graph = defs.resolve_asset_graph()
    checked = {k.asset_key.to_user_string() for k in graph.asset_check_keys}
    models = {m.name for m in list_models()}
    missing = sorted(models - checked)
    assert models and not missing, f"declare checks in sql/schema.yml for {missing}"


def test_every_check_has_a_description() -> None:
    for checks_def in defs.asset_checks or []:
        assert isinstance(checks_def, dg.AssetChecksDefinition)
        for spec in checks_def.check_specs:
            assert spec.description, f"check {spec.name} has no description"


def test_jobs_sensors_and_schedules_are_present_by_name() -> None:
    repo = defs.get_repository_def()
    jobs = {j.name for j in repo.get_all_jobs()}
    assert jobs >= JOBS, f"missing: {sorted(JOBS - jobs)}"
    assert {s.name for s in repo.sensor_defs} == SENSORS
    assert {s.name for s in repo.schedule_defs} == SCHEDULES
    for name in SENSORS:
        assert defs.resolve_sensor_def(name).description
    for name in SCHEDULES:
        schedule = defs.resolve_schedule_def(name)
        assert schedule.execution_timezone == "Asia/Seoul", name
        assert schedule.description


def test_jobs_select_what_their_names_say() -> None:
    def selected(job: str) -> set[str]:
        job_def = defs.resolve_job_def(job)
        return {k.to_user_string() for k in job_def.asset_layer.selected_asset_keys}

    assert selected("dispatch_job") == {"job_targets", "job_dispatch"}
    assert selected("receipts_job") == {"delivery_receipts"}
    assert selected("mo_job") == {"mo_replies"}
    assert selected("customer_sync_job") == {"customer_profiles"}
    assert selected("customer_db_job") == {"customer_db_sync"}
    assert selected("daily_report_job") == {"daily_report"}
    assert selected("consent_notices_job") == {"optout_confirmations", "consent_reconfirm_notices"}
    analytics = {_spec_id(s) for s in SPECS if s.group_name == "analytics"}
    assert selected("analytics_job") == analytics
    assert "fct_messages" in analytics


def test_partitioning() -> None:
    by_key = {_spec_id(s): s for s in SPECS}
    for name in ("job_targets", "job_dispatch"):
        part = by_key[name].partitions_def
        assert isinstance(part, dg.DynamicPartitionsDefinition) and part.name == "jobs"
    daily = by_key["daily_report"].partitions_def
    assert isinstance(daily, dg.DailyPartitionsDefinition)
    assert daily.timezone == "Asia/Seoul"


def test_duckdb_models_share_the_single_writer_pool() -> None:
    graph = defs.resolve_asset_graph()
    for spec in SPECS:
        if "duckdb" in spec.kinds and spec.group_name == "analytics":
            node = graph.get(spec.key)
            assert node.pools == {"ums_duckdb"}, _spec_id(spec)


def test_every_asset_and_sensor_needs_only_the_ums_resource() -> None:
    repo = defs.get_repository_def()
    assert set(defs.resources or {}) == {"ums"}
    for assets_def in repo.assets_defs_by_key.values():
        # io_manager is Dagster's default; the assets return MaterializeResult, no values.
        assert assets_def.required_resource_keys - {"io_manager"} <= {"ums"}, assets_def.key
    for sensor in repo.sensor_defs:
        assert sensor.required_resource_keys <= {"ums"}, sensor.name


@pytest.mark.parametrize(
    "module",
    sorted(
        str(p.relative_to(REPO_ROOT))
        for p in [
            *(REPO_ROOT / "assets").glob("*.py"),
            *(REPO_ROOT / "sensors").glob("*.py"),
            REPO_ROOT / "reports" / "__init__.py",
        ]
    ),
)
def test_definition_modules_keep_runtime_annotations(module: str) -> None:
    # Dagster reads the annotations of asset/sensor functions (context and resource types)
    # at definition time; postponed (string) annotations break that.
    source = (REPO_ROOT / module).read_text(encoding="utf-8")
    assert "from __future__ import annotations" not in source, module
