"""The extraction benchmark at a small size: every reason appears and the counts add up
to the customers seeded (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ums_pipelines.bench.extract import MIX, expected, run_extract, seed_store
from ums_pipelines.cli import app

REASONS = {
    "deceased",
    "no_route",
    "no_consent",
    "consent_expired",
    "opt_out",
    "no_contact",
    "frequency_cap",
    "duplicate_recipient",
}


def test_every_suppression_appears_and_the_counts_add_up(tmp_path: Path) -> None:
    base = seed_store(tmp_path / "cache", 2_000)
    run = run_extract(base, tmp_path / "run", 2_000)
    assert set(run.suppressed) == REASONS
    assert (run.targets, run.suppressed) == expected(2_000)
    assert run.admitted == {"transaction_exception": 60}
    assert run.adds_up and run.targets + sum(run.suppressed.values()) == 2_000
    assert {kind for _, _, kind in MIX} - {"withdrawn", "transaction_exception"} == REASONS


def test_a_size_off_the_hundreds_still_adds_up(tmp_path: Path) -> None:
    # The last duplicates' twins are not seeded: they are targets, as expected() says.
    base = seed_store(tmp_path / "cache", 150)
    run = run_extract(base, tmp_path / "run", 150)
    assert (run.targets, run.suppressed) == expected(150) and run.adds_up


def test_cli_extract_scenario_prints_the_json_row(tmp_path: Path) -> None:
    args = ["bench", "--scenario", "extract", "--customers", "300", "--workdir", str(tmp_path)]
    done = CliRunner().invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    (row,) = json.loads(done.stdout)["results"]
    assert row["scenario"] == "extract" and row["customers"] == 300 and row["adds_up"]
    assert row["targets"] + sum(row["suppressed"].values()) == 300
    assert row["peak_rss_mb"] > 0
