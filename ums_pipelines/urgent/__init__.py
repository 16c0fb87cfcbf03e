"""Urgent notices: a customer-wide notice drafted, dry-run (reach and predicted time),
approved by a designated approver and sent at once on the top lane (docs/operations.md)."""

from __future__ import annotations

from ums_pipelines.urgent.notices import (
    UrgentError,
    approve_notice,
    current_prediction,
    draft_notice,
    dry_run,
    get_notice,
)
from ums_pipelines.urgent.predict import Prediction, ProviderShare, predict
from ums_pipelines.urgent.send import SendReport, send_notice

__all__ = [
    "Prediction",
    "ProviderShare",
    "SendReport",
    "UrgentError",
    "approve_notice",
    "current_prediction",
    "draft_notice",
    "dry_run",
    "get_notice",
    "predict",
    "send_notice",
]
