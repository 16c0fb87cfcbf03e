"""The snapshot's parts: plain frozen records, turned into JSON by ``Snapshot.to_json``.

Stages of a message (docs/operations.md): ``queued`` (waiting, due or not), ``held``
(its job paused), ``claimed`` (leased by a sender), ``submitted`` (the relay accepted
it), ``carrier`` (the carrier reported it accepted), ``delivered`` (on the handset),
``failed`` (a final failure), ``fell_back`` (a failed leg that started the next leg of
its chain), ``expired`` and ``cancelled``. Every outbox row is in exactly one stage, so
the stage counts of a cut add up to its rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "FINAL_STAGES",
    "LIGHTS",
    "LIVE_STAGES",
    "STAGES",
    "AgentRow",
    "BacklogRow",
    "CircuitRow",
    "FailureRow",
    "LatencyRow",
    "Light",
    "RateRow",
    "Snapshot",
    "StageRow",
]

# Counted whenever they are in the outbox: they are the work in hand.
LIVE_STAGES = ("queued", "held", "claimed", "submitted", "carrier")
# Counted since the start of the Korea-time day (``Snapshot.since``).
FINAL_STAGES = ("delivered", "failed", "fell_back", "expired", "cancelled")
STAGES = LIVE_STAGES + FINAL_STAGES
LIGHTS = ("green", "amber", "red")  # in order of worsening

# The latency legs: UMS (created -> the relay accepted), the relay (-> the carrier
# reported it accepted), the carrier (-> the handset), and relay-to-handset whole.
LEGS = ("created_to_submitted", "submitted_to_carrier", "carrier_to_delivered",
        "submitted_to_delivered")  # fmt: skip


@dataclass(frozen=True)
class StageRow:
    stage: str
    channel: str
    provider: str
    lane: str
    count: int


@dataclass(frozen=True)
class FailureRow:
    """Final failures, fell-back legs, expired and cancelled rows since the day began,
    by the stage that ended them (``ums`` when no provider reported it) and the code."""

    stage: str  # the message stage: failed | fell_back | expired | cancelled
    at: str  # where it ended: ums | relay | carrier | handset
    reason: str
    channel: str
    provider: str
    lane: str
    count: int


@dataclass(frozen=True)
class RateRow:
    """Per minute over the window: accepted by the relay, delivered, final failures."""

    channel: str
    provider: str
    sent: int
    delivered: int
    failed: int
    fell_back: int
    sent_per_min: float
    delivered_per_min: float
    failed_per_min: float
    failure_share: float | None  # failed / (delivered + failed); None if nothing finished


@dataclass(frozen=True)
class LatencyRow:
    leg: str
    channel: str
    samples: int
    p50_s: float | None
    p95_s: float | None


@dataclass(frozen=True)
class BacklogRow:
    """Rows waiting in the outbox (queued or claimed) of one lane, those already due, the
    age of the oldest due one, and targets of splits not yet written (bulk jobs)."""

    lane: str
    waiting: int
    due: int
    oldest_due_age_s: float | None
    unwritten: int


@dataclass(frozen=True)
class AgentRow:
    agent_id: str
    kind: str  # agent | dispatcher
    state: str  # alive | dead | stopped | (dispatcher) active
    heartbeat_at: datetime | None
    heartbeat_age_s: float | None
    lanes: list[str]
    claimed: int
    sent: int | None


@dataclass(frozen=True)
class CircuitRow:
    provider: str
    state: str  # closed | open | half_open | unknown (no send yet)
    failures: int
    times_opened: int
    open_until: datetime | None
    per_second: float | None
    per_hour: int | None
    rate_factor: float | None


@dataclass(frozen=True)
class Light:
    kind: str  # overall | channel | provider | lane | agents
    name: str
    state: str  # green | amber | red
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Snapshot:
    taken_at: datetime
    since: datetime  # final stages are counted from here (start of the Korea-time day)
    window_s: float
    duration_s: float
    stages: list[StageRow]
    failures: list[FailureRow]
    rates: list[RateRow]
    latencies: list[LatencyRow]
    backlog: list[BacklogRow]
    agents: list[AgentRow]
    circuits: list[CircuitRow]
    jobs: dict[str, int]
    content: dict[str, int]
    approvals_pending: dict[str, int]
    lights: list[Light]

    def stage_totals(self) -> dict[str, int]:
        """Every stage with its count over all channels, providers and lanes."""
        totals = dict.fromkeys(STAGES, 0)
        for row in self.stages:
            totals[row.stage] += row.count
        return totals

    def by(self, key: str) -> dict[str, dict[str, int]]:
        """Stage counts per channel, provider or lane: {name: {stage: count}}."""
        out: dict[str, dict[str, int]] = {}
        for row in self.stages:
            name = str(getattr(row, key))
            out.setdefault(name, dict.fromkeys(STAGES, 0))[row.stage] += row.count
        return out

    def overall(self) -> str:
        return next((x.state for x in self.lights if x.kind == "overall"), "green")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["stage_totals"] = self.stage_totals()
        data["by_channel"] = self.by("channel")
        data["by_provider"] = self.by("provider")
        data["by_lane"] = self.by("lane")
        data["stage_names"] = list(STAGES)
        return _jsonable(data)  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
