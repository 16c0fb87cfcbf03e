"""The bench as a whole: sizes per mode, base stores, one simulator, and the runs.

Each run measures every scenario's ceiling and ours back to back against the same
simulator process; the result per scenario is the median over runs (see ``combine``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ums_pipelines.bench.measure import Spec, measure_in_child
from ums_pipelines.bench.model import Measurement, ScenarioResult, combine
from ums_pipelines.bench.population import base_store
from ums_pipelines.bench.simproc import SimProcess

__all__ = ["SCENARIOS", "BenchPlan", "run_bench"]

SCENARIOS = ("bulk_batch_api", "per_message_api", "realtime_under_bulk", "rate_limited")
Log = Callable[[str], None]


@dataclass(frozen=True)
class BenchPlan:
    """Sizes of one bench; ``quick()`` and ``full()`` are the two the CLI offers."""

    bulk_messages: int
    push_messages: int
    realtime_bulk: int  # customers of the bulk job running under the real-time traffic
    realtime_rate: float
    realtime_seconds: float
    limited_rate: float
    limited_messages: int
    runs: int = 1
    scenarios: tuple[str, ...] = SCENARIOS
    workdir: Path = field(default_factory=lambda: Path(".ums/bench"))

    @classmethod
    def quick(cls, **kw: object) -> BenchPlan:
        values: dict[str, object] = {
            "bulk_messages": 20_000,
            "push_messages": 3_000,
            "realtime_bulk": 20_000,
            "realtime_rate": 200.0,
            "realtime_seconds": 4.0,
            "limited_rate": 200.0,
            "limited_messages": 1_000,
            "runs": 1,
        }
        return cls(**(values | kw))  # type: ignore[arg-type]

    @classmethod
    def full(cls, **kw: object) -> BenchPlan:
        values: dict[str, object] = {
            "bulk_messages": 1_000_000,
            "push_messages": 50_000,
            "realtime_bulk": 200_000,
            "realtime_rate": 200.0,
            "realtime_seconds": 15.0,
            "limited_rate": 500.0,
            "limited_messages": 10_000,
            "runs": 3,
        }
        return cls(**(values | kw))  # type: ignore[arg-type]


def _specs(plan: BenchPlan, scenario: str, url: str, run: int) -> tuple[Spec | None, Spec]:
    """(ceiling spec or None when the ceiling is the configured rate, ours spec)."""
    cache = plan.workdir / "cache"
    rundir = plan.workdir / "runs"

    def spec(kind: str, base: Path, n: int, **kw: float) -> Spec:
        return Spec(kind, str(base), str(rundir / f"{kind}-{run}"), url, n, **kw)

    if scenario == "bulk_batch_api":
        base = base_store(cache, plan.bulk_messages, "sms")
        return (
            spec("bulk_ceiling", base, plan.bulk_messages),
            spec("bulk_ours", base, plan.bulk_messages),
        )
    if scenario == "per_message_api":
        base = base_store(cache, plan.push_messages, "push")
        return (
            spec("push_ceiling", base, plan.push_messages),
            spec("push_ours", base, plan.push_messages),
        )
    if scenario == "realtime_under_bulk":
        base = base_store(cache, plan.realtime_bulk, "sms")
        return None, spec(
            "realtime",
            base,
            plan.realtime_bulk,
            rate=plan.realtime_rate,
            seconds=plan.realtime_seconds,
        )
    base = base_store(cache, plan.limited_messages, "sms")
    return None, spec("rate_limited", base, plan.limited_messages, rate=plan.limited_rate)


_CHANNEL = {
    "bulk_batch_api": "sms",
    "per_message_api": "push",
    "realtime_under_bulk": "sms",
    "rate_limited": "sms",
}


def run_bench(plan: BenchPlan, log: Log | None = None) -> list[ScenarioResult]:
    say = log or (lambda _msg: None)
    ours: dict[str, list[Measurement]] = {s: [] for s in plan.scenarios}
    ceilings: dict[str, list[float]] = {s: [] for s in plan.scenarios}
    overshoot: dict[str, list[float]] = {s: [] for s in plan.scenarios}
    for scenario in plan.scenarios:  # build (or reuse) every base store before timing
        _specs(plan, scenario, "", 0)
    with SimProcess(plan.workdir / "sim") as sim:
        for run in range(plan.runs):
            for scenario in plan.scenarios:
                ceiling_spec, ours_spec = _specs(plan, scenario, sim.base_url, run)
                if ceiling_spec is not None:
                    ceiling = measure_in_child(ceiling_spec)
                    ceilings[scenario].append(ceiling.msgs_per_s)
                    shutil.rmtree(ceiling_spec.rundir, ignore_errors=True)
                    say(f"run {run + 1} {scenario} ceiling: {ceiling.msgs_per_s:,.0f} msg/s")
                else:
                    ceilings[scenario].append(ours_spec.rate)
                m = measure_in_child(ours_spec)
                shutil.rmtree(ours_spec.rundir, ignore_errors=True)
                ours[scenario].append(m)
                extra = ""
                if m.max_in_window is not None:
                    over = (m.max_in_window - ours_spec.rate) / ours_spec.rate
                    overshoot[scenario].append(over)
                    extra = f", max in 1 s {m.max_in_window} (overshoot {over:.3f})"
                if m.p99_ms is not None:
                    extra += f", p50 {m.p50_ms:.0f} ms, p99 {m.p99_ms:.0f} ms"
                say(
                    f"run {run + 1} {scenario} ours: {m.messages:,} in {m.seconds:.1f} s"
                    f" = {m.msgs_per_s:,.0f} msg/s, rss {m.peak_rss_mb:.0f} MB{extra}"
                )
    return [
        combine(s, _CHANNEL[s], ours[s], ceilings[s], overshoot[s] or None) for s in plan.scenarios
    ]
