"""Monitoring settings: the recent window of rates and latencies, the traffic-light
thresholds of the screen board, and where the board and the metrics endpoint listen.

A mixin of :class:`ums_pipelines.settings.Settings` (env variables ``UMS_<FIELD>``).
The thresholds are documented in docs/operations.md ("Traffic lights").
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

__all__ = ["MonitoringSettings"]


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
    monitoring_backlog_amber_s: float = Field(
        default=300.0, gt=0, description="Age of a lane's oldest due message: amber (seconds)."
    )
    monitoring_backlog_red_s: float = Field(
        default=900.0, gt=0, description="Age of a lane's oldest due message: red (seconds)."
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

    @model_validator(mode="after")
    def _amber_below_red(self) -> MonitoringSettings:
        for name in ("failure", "backlog", "delivery_p95"):
            suffix = "_s" if name != "failure" else ""
            amber = getattr(self, f"monitoring_{name}_amber{suffix}")
            red = getattr(self, f"monitoring_{name}_red{suffix}")
            if amber > red:
                raise ValueError(
                    f"monitoring_{name}_amber{suffix}: {amber} is above"
                    f" monitoring_{name}_red{suffix} ({red}); amber must come first"
                )
        return self
