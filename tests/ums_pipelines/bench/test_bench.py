"""``ums bench`` on a tiny plan: the JSON contract (keys, types, ratio), no wall-clock
assertions."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ums_pipelines.bench import BenchPlan, run_bench
from ums_pipelines.bench.model import Measurement, combine, percentile
from ums_pipelines.cli import app

KEYS = {
    "scenario": str,
    "channel": str,
    "messages": int,
    "msgs_per_s": float,
    "ceiling_msgs_per_s": float,
    "ratio": float,
    "peak_rss_mb": float,
}
SCENARIOS = {"bulk_batch_api", "per_message_api", "realtime_under_bulk", "rate_limited"}


def tiny(workdir: Path) -> BenchPlan:
    return BenchPlan.quick(
        bulk_messages=300,
        push_messages=100,
        realtime_bulk=5_000,
        realtime_rate=100.0,
        realtime_seconds=0.5,
        limited_rate=100.0,
        limited_messages=150,
        workdir=workdir,
    )


def check_row(row: dict[str, object]) -> None:
    for key, kind in KEYS.items():
        assert isinstance(row[key], kind), (key, row)
    for key in ("p50_ms", "p99_ms"):
        assert row[key] is None or isinstance(row[key], float)
    assert row["messages"] > 0  # type: ignore[operator]
    ratio = row["msgs_per_s"] / row["ceiling_msgs_per_s"]  # type: ignore[operator]
    assert abs(row["ratio"] - ratio) < 1e-3  # type: ignore[operator]
    assert ("max_overshoot" in row) == (row["scenario"] == "rate_limited")


def test_tiny_bench_json_contract(tmp_path: Path) -> None:
    results = run_bench(tiny(tmp_path))
    rows = [r.as_json() for r in results]
    # Exactly what the CLI prints: one JSON object.
    payload = json.loads(json.dumps({"results": rows}))
    assert {r["scenario"] for r in payload["results"]} == SCENARIOS
    for row in payload["results"]:
        check_row(row)
    by = {r["scenario"]: r for r in payload["results"]}
    assert by["bulk_batch_api"]["messages"] == 300
    assert by["per_message_api"]["messages"] == 100
    assert by["rate_limited"]["messages"] == 150
    assert isinstance(by["rate_limited"]["max_overshoot"], float)
    assert isinstance(by["realtime_under_bulk"]["p99_ms"], float)


def test_cli_prints_one_json_object(tmp_path: Path) -> None:
    args = ["bench", "--json", "--quick", "--workdir", str(tmp_path)]
    args += ["--scenario", "rate_limited"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    (row,) = json.loads(lines[0])["results"]
    check_row(row)


def test_combine_takes_medians_and_worst() -> None:
    ours = [Measurement(100, s, rss) for s, rss in ((1.0, 10.0), (2.0, 30.0), (4.0, 20.0))]
    result = combine("bulk_batch_api", "sms", ours, [200.0, 100.0, 300.0], None)
    assert result.msgs_per_s == 50.0
    assert result.ceiling_msgs_per_s == 200.0
    assert result.ratio == 0.25
    assert result.peak_rss_mb == 30.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert percentile([], 50) is None
