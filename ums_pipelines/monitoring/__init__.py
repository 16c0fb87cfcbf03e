"""Per-stage monitoring of the send plane and the workflow, read from the store (issue 9):
``take_snapshot`` for the CLI, the screen board, the Prometheus collector and Dagster."""

from ums_pipelines.monitoring.model import STAGES, Snapshot
from ums_pipelines.monitoring.snapshot import take_snapshot

__all__ = ["STAGES", "Snapshot", "take_snapshot"]
