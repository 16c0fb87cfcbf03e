"""The review-system sensor: decision files of the bank's review system, brought in."""

import dagster as dg

from ums_pipelines.compliance.access import allowed
from ums_pipelines.compliance.review_inbox import ingest_decisions, waiting_decisions
from ums_pipelines.resources import UmsResource

__all__ = ["review_decisions_sensor"]


@dg.sensor(
    minimum_interval_seconds=30,
    description="Every 30 s: applies the review system's decision files in"
    " UMS_REVIEW_INBOX_DIR as four-eyes decisions (files go to done/ or rejected/).",
)
def review_decisions_sensor(ums: UmsResource) -> dg.SkipReason:
    settings = ums.settings()
    if not waiting_decisions(settings):
        return dg.SkipReason("no decision file waiting")
    # The engine does the work: a decision is a few rows, no run is worth launching.
    with ums.open_store() as store:
        with store.reading() as session:
            if not allowed(session, ums.actor, "review.ingest", None):
                return dg.SkipReason(f"{ums.actor} lacks the operator role for '*'")
        result = ingest_decisions(store, settings)
    return dg.SkipReason(f"review decisions: {result.summary}")
