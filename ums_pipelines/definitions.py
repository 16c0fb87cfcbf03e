"""The one composition root: the Definitions of assets/, sensors/ and reports/, plus resources.

``dagster dev -w workspace.yaml`` and ``dagster definitions validate`` load ``defs`` from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dagster as dg

import assets
import reports
import sensors
from assets.partitions import jobs_partitions
from ums_pipelines.resources import UmsResource

__all__ = ["defs", "materialize_selection", "open_instance"]

# One writer of the DuckDB file at a time: the only pool in the project is the DuckDB one.
INSTANCE_YAML = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""

defs = dg.Definitions.merge(
    assets.defs,
    sensors.defs,
    reports.defs,
    dg.Definitions(resources={"ums": UmsResource()}),
)


def open_instance(dagster_home: Path) -> dg.DagsterInstance:
    """The persistent Dagster instance under UMS_HOME, so the UI shows what the CLI ran."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML, encoding="utf-8")
    return dg.DagsterInstance.from_config(str(dagster_home))


def materialize_selection(
    instance: dg.DagsterInstance,
    ums: UmsResource,
    selection: Sequence[str],
    partition_key: str | None = None,
) -> dg.ExecuteInProcessResult:
    """Run part of the asset graph in-process (one run, no per-step process cost)."""
    graph = [*(defs.assets or []), *(defs.asset_checks or [])]
    per_job = {
        spec.key.to_user_string()
        for spec in defs.resolve_all_asset_specs()
        if spec.partitions_def == jobs_partitions
    }
    if partition_key is not None and per_job & set(selection):
        # Any per-job asset (job_targets alone too) needs the job's partition to exist.
        instance.add_dynamic_partitions(jobs_partitions.name or "jobs", [partition_key])
    return dg.materialize(
        graph,  # type: ignore[arg-type]
        instance=instance,
        resources={"ums": ums},
        selection=dg.AssetSelection.assets(*selection)
        | dg.AssetSelection.checks_for_assets(*selection),
        partition_key=partition_key,
        tags={"ums/started_by": "cli"},
        # Run events stay in the instance (and the UI); the terminal gets warnings only.
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
