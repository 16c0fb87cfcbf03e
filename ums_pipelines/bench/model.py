"""What one measurement yields, and how the runs of a scenario become one result row."""

from __future__ import annotations

import resource
import statistics
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["Measurement", "ScenarioResult", "combine", "peak_rss_mb", "percentile"]


@dataclass(frozen=True)
class Measurement:
    """One timed side of a scenario (ours or the ceiling) in one child process."""

    messages: int
    seconds: float
    peak_rss_mb: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_in_window: int | None = None

    @property
    def msgs_per_s(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class ScenarioResult:
    scenario: str
    channel: str
    messages: int
    msgs_per_s: float
    ceiling_msgs_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    peak_rss_mb: float
    max_overshoot: float | None = None

    @property
    def ratio(self) -> float:
        if self.ceiling_msgs_per_s <= 0:
            return 0.0
        return self.msgs_per_s / self.ceiling_msgs_per_s

    def as_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "scenario": self.scenario,
            "channel": self.channel,
            "messages": self.messages,
            "msgs_per_s": round(self.msgs_per_s, 1),
            "ceiling_msgs_per_s": round(self.ceiling_msgs_per_s, 1),
            "ratio": 0.0,
            "p50_ms": None if self.p50_ms is None else round(self.p50_ms, 1),
            "p99_ms": None if self.p99_ms is None else round(self.p99_ms, 1),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
        }
        # The ratio of the printed figures, so a reader can check it from the JSON.
        if row["ceiling_msgs_per_s"] > 0:
            row["ratio"] = round(row["msgs_per_s"] / row["ceiling_msgs_per_s"], 4)
        if self.max_overshoot is not None:
            row["max_overshoot"] = round(self.max_overshoot, 4)
        return row


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def combine(
    scenario: str,
    channel: str,
    ours: list[Measurement],
    ceilings: list[float],
    max_overshoot: list[float] | None = None,
) -> ScenarioResult:
    """Medians over runs for rates and latencies; the worst run for memory and overshoot."""
    return ScenarioResult(
        scenario=scenario,
        channel=channel,
        messages=int(statistics.median(m.messages for m in ours)),
        msgs_per_s=statistics.median(m.msgs_per_s for m in ours),
        ceiling_msgs_per_s=statistics.median(ceilings),
        p50_ms=_median([m.p50_ms for m in ours]),
        p99_ms=_median([m.p99_ms for m in ours]),
        peak_rss_mb=max(m.peak_rss_mb for m in ours),
        max_overshoot=max(max_overshoot) if max_overshoot else None,
    )


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def peak_rss_mb() -> float:
    """This process's peak resident set so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
