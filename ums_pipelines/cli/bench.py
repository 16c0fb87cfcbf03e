"""``ums bench``: the send plane against its ceilings; one JSON object with ``--json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
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
        list[str] | None,
        typer.Option(
            help="Only these scenarios (repeatable); 'extract' and 'urgent' run only if named."
        ),
    ] = None,
    customers: Annotated[
        int | None,
        typer.Option(
            min=100,
            help="Customers: extract 1,000,000 (quick 20,000), urgent 100,000 (quick 5,000).",
        ),
    ] = None,
) -> None:
    """Measure bulk, per-message, real-time-under-bulk and rate-limited sending, and
    (``--scenario extract``) target extraction with every suppression."""
    from ums_pipelines.bench import BenchPlan, run_bench
    from ums_pipelines.bench.suite import SCENARIOS

    chosen = tuple(scenario) if scenario else SCENARIOS
    unknown = [s for s in chosen if s not in (*SCENARIOS, "extract", "urgent")]
    if unknown:
        raise typer.BadParameter(f"unknown scenario(s): {', '.join(unknown)}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    extracted: list[dict[str, object]] = []
    if "extract" in chosen:
        extracted = [_extract(workdir, customers or (20_000 if quick else 1_000_000), log)]
        chosen = tuple(s for s in chosen if s != "extract")
    if "urgent" in chosen:
        extracted.append(_urgent(workdir, customers, quick, runs, log))
        chosen = tuple(s for s in chosen if s != "urgent")
    if not chosen:
        _print(extracted, as_json)
        if not all(row.get("adds_up", True) for row in extracted):
            raise typer.Exit(1)
        return
    overrides: dict[str, object] = {"workdir": workdir, "scenarios": chosen}
    if runs is not None:
        overrides["runs"] = runs
    plan = BenchPlan.quick(**overrides) if quick else BenchPlan.full(**overrides)
    results = run_bench(plan, log)
    _print([*extracted, *(r.as_json() for r in results)], as_json)
    if not all(row.get("adds_up", True) for row in extracted):
        raise typer.Exit(1)


def _print(rows: list[dict[str, object]], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"results": rows}, ensure_ascii=False))
        return
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))


def _extract(workdir: Path, customers: int, log: Callable[[str], None]) -> dict[str, object]:
    from ums_pipelines.bench.extract import extract_in_child, seed_store

    log(f"extract: seeding {customers:,} customers (cached per size and day)")
    base = seed_store(workdir / "cache", customers)
    run = extract_in_child(base, workdir / "runs" / "extract", customers)
    log(
        f"extract: {customers:,} customers in {run.seconds:.1f} s, rss {run.peak_rss_mb:.0f} MB,"
        f" targets {run.targets:,}, suppressed {sum(run.suppressed.values()):,}"
        f" ({'adds up' if run.adds_up else 'DOES NOT ADD UP'})"
    )
    return run.as_json()


def _urgent(
    workdir: Path, customers: int | None, quick: bool, runs: int | None, log: Callable[[str], None]
) -> dict[str, object]:
    """An urgent notice to every customer approved while a marketing-lane bulk job sends
    through the same provider (issue 9): start after approval, time against the dry run."""
    from ums_pipelines.urgent.bench import bench_urgent

    size = customers or (5_000 if quick else 100_000)
    rate = 500.0 if quick else 1000.0
    return bench_urgent(workdir / "urgent", size, rate, runs or (1 if quick else 3), log)
