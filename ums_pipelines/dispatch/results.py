"""What one run of a bulk job's dispatcher reports (``Dispatcher.run_job``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ums_pipelines.lanes import TERMINAL_STATES

__all__ = ["DispatchResult"]


@dataclass
class DispatchResult:
    job_id: str
    submitted: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    rounds: int = 0
    terminal: bool = False
    status: str = ""
    seconds: float = 0.0
    lost_leases: int = 0
    retries: dict[str, int] = field(default_factory=dict)
    # Queued for a later moment (held for the night ban): not sent, not finished.
    held: int = 0

    @property
    def in_flight(self) -> int:
        return sum(n for s, n in self.states.items() if s not in TERMINAL_STATES)
