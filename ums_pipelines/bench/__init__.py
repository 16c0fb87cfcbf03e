"""``ums bench``: the send plane measured against a bare-client ceiling on the same simulator.

Every scenario runs "ours" (the real pipeline) and its ceiling in the same run against
the same gateway simulator, which runs as a separate process so it never shares our GIL;
each measurement runs in a fresh child process, so its peak RSS is its own.
"""

from ums_pipelines.bench.model import Measurement, ScenarioResult, combine
from ums_pipelines.bench.suite import BenchPlan, run_bench

__all__ = ["BenchPlan", "Measurement", "ScenarioResult", "combine", "run_bench"]
