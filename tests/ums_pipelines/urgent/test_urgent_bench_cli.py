"""`ums bench --scenario urgent` prints one JSON row per scenario with each run's
start, time, prediction and the bulk job's counts."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ums_pipelines.cli import app


def test_cli_urgent_scenario_prints_the_json_row(tmp_path: Path) -> None:
    args = ["bench", "--scenario", "urgent", "--quick", "--customers", "500"]
    done = CliRunner().invoke(app, [*args, "--workdir", str(tmp_path), "--json"])
    assert done.exit_code == 0, done.output
    (row,) = json.loads(done.stdout)["results"]
    assert row["scenario"] == "urgent" and row["customers"] == 500
    assert row["rate_per_s"] == 500.0
    (run,) = row["runs"]
    assert run["predicted_s"] == 2.0  # 500 at 500/s plus the 1-s start
    assert run["bulk_sent_before"] > 0 and run["start_s"] > 0
    assert row["median_seconds"] == run["seconds"]
