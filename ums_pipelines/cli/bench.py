"""``ums bench``: the send plane against its ceilings; one JSON object with ``--json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["bench"]


def bench(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")
    ] = False,
    quick: Annotated[
        bool, typer.Option("--quick", help="Small sizes, one run: under a minute.")
    ] = False,
    runs: Annotated[
        int | None, typer.Option(min=1, help="Runs per scenario (median); 3 full, 1 quick.")
    ] = None,
    workdir: Annotated[
        Path, typer.Option(help="Scratch space; cached customer stores live in cache/.")
    ] = Path(".ums/bench"),
    scenario: Annotated[
        list[str] | None, typer.Option(help="Only these scenarios (repeatable).")
    ] = None,
) -> None:
    """Measure bulk, per-message, real-time-under-bulk and rate-limited sending."""
    from ums_pipelines.bench import BenchPlan, run_bench
    from ums_pipelines.bench.suite import SCENARIOS

    chosen = tuple(scenario) if scenario else SCENARIOS
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        raise typer.BadParameter(f"unknown scenario(s): {', '.join(unknown)}")
    overrides: dict[str, object] = {"workdir": workdir, "scenarios": chosen}
    if runs is not None:
        overrides["runs"] = runs
    plan = BenchPlan.quick(**overrides) if quick else BenchPlan.full(**overrides)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = run_bench(plan, log)
    rows = [r.as_json() for r in results]
    if as_json:
        print(json.dumps({"results": rows}, ensure_ascii=False))
        return
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
