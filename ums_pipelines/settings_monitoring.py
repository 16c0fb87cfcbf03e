"""Monitoring settings: the recent window of rates and latencies, the traffic-light
thresholds of the screen board, and where the board and the metrics endpoint listen.

A mixin of :class:`ums_pipelines.settings.Settings` (env variables ``UMS_<FIELD>``).
The thresholds are documented in docs/operations.md ("Traffic lights").
"""

from __future__ import annotations

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

__all__ = ["MonitoringSettings"]

LANES = ("urgent", "auth", "transactional", "informational", "marketing")
_BACKLOG_AMBER = {"urgent": 30.0, "auth": 30.0, "transactional": 120.0, "informational": 600.0,
                  "marketing": 1800.0}  # fmt: skip
_BACKLOG_RED = {"urgent": 60.0, "auth": 60.0, "transactional": 300.0, "informational": 1800.0,
                "marketing": 3600.0}  # fmt: skip


class MonitoringSettings(BaseModel):
    """Per-stage monitoring, the live screen board and the Prometheus endpoint."""

    monitoring_window_minutes: float = Field(
        default=5.0,
        gt=0,
        le=24 * 60,
        description="Rates (per minute) and latency percentiles are taken over this many"
        " recent minutes.",
    )
    monitoring_latency_sample: int = Field(
        default=5000,
        ge=10,
        le=1_000_000,
        description="At most this many of the newest rows of the window feed the latency"
        " percentiles (a sample bounds the cost on a busy store).",
    )
    monitoring_min_sample: int = Field(
        default=20,
        ge=1,
        description="A failure rate or a latency of fewer finished messages than this in the"
        " window is shown but judges no traffic light (three failures of five are noise).",
    )
    monitoring_failure_amber: float = Field(
        default=0.05, gt=0, le=1, description="Share of final failures in the window: amber."
    )
    monitoring_failure_red: float = Field(
        default=0.20, gt=0, le=1, description="Share of final failures in the window: red."
    )
    # Per lane: an OTP a minute late is an incident, a paced marketing send an hour behind
    # its first row is normal. A lane left out keeps its default.
    monitoring_backlog_amber_s: dict[str, float] = Field(
        default_factory=lambda: dict(_BACKLOG_AMBER),
        description="JSON {lane: seconds}: age of a lane's oldest due message that is amber.",
    )
    monitoring_backlog_red_s: dict[str, float] = Field(
        default_factory=lambda: dict(_BACKLOG_RED),
        description="JSON {lane: seconds}: age of a lane's oldest due message that is red.",
    )
    monitoring_delivery_p95_amber_s: float = Field(
        default=120.0,
        gt=0,
        description="p95 of submitted-to-delivered per channel in the window: amber (seconds).",
    )
    monitoring_delivery_p95_red_s: float = Field(
        default=600.0,
        gt=0,
        description="p95 of submitted-to-delivered per channel in the window: red (seconds).",
    )
    monitoring_board_host: str = Field(
        default="127.0.0.1", description="Address the screen board (ums board serve) binds to."
    )
    monitoring_board_port: int = Field(
        default=8960, ge=1, le=65535, description="Port the screen board listens on."
    )
    monitoring_board_refresh_s: float = Field(
        default=5.0,
        ge=1,
        le=300,
        description="The board page fetches a new snapshot this often (no page reload).",
    )
    monitoring_metrics_port: int = Field(
        default=9464, ge=1, le=65535, description="Port of ums metrics serve (/metrics only)."
    )

    @field_validator("monitoring_backlog_amber_s", "monitoring_backlog_red_s")
    @classmethod
    def _per_lane(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        unknown = sorted(set(value) - set(LANES))
        if unknown:
            raise ValueError(f"{info.field_name}: {unknown} not lanes ({', '.join(LANES)})")
        if any(v <= 0 for v in value.values()):
            raise ValueError(f"{info.field_name}: every age must be above 0 seconds")
        defaults = (
            _BACKLOG_AMBER if info.field_name == "monitoring_backlog_amber_s" else _BACKLOG_RED
        )
        return {**defaults, **value}

    def backlog_limits(self, lane: str) -> tuple[float, float]:
        """(amber, red) seconds of ``lane``'s oldest due message."""
        return self.monitoring_backlog_amber_s[lane], self.monitoring_backlog_red_s[lane]

    @model_validator(mode="after")
    def _amber_below_red(self) -> MonitoringSettings:
        for lane in LANES:
            amber, red = self.backlog_limits(lane)
            if amber > red:
                raise ValueError(
                    f"monitoring_backlog_amber_s: {lane} {amber} is above"
                    f" monitoring_backlog_red_s ({red}); amber must come first"
                )
        for name in ("failure", "delivery_p95"):
            suffix = "_s" if name != "failure" else ""
            amber = getattr(self, f"monitoring_{name}_amber{suffix}")
            red = getattr(self, f"monitoring_{name}_red{suffix}")
            if amber > red:
                raise ValueError(
                    f"monitoring_{name}_amber{suffix}: {amber} is above"
                    f" monitoring_{name}_red{suffix} ({red}); amber must come first"
                )
        return self
