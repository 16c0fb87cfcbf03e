"""Operations: the monitoring snapshot recorded as asset metadata every few minutes, so the
Dagster UI plots per-stage counts, backlog age and rates over time (docs/operations.md)."""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from ums_pipelines.monitoring import take_snapshot
from ums_pipelines.monitoring.model import STAGES, Snapshot
from ums_pipelines.resources import UmsResource

__all__ = ["ASSETS", "CHECKS"]

OWNERS = ["team:messaging-ops"]
LIGHTS_CHECK = "no_red_lights"


def snapshot_metadata(snap: Snapshot) -> dict[str, Any]:
    """Flat numbers (plotted by the UI across materialisations) and two small tables."""
    totals = snap.stage_totals()
    meta: dict[str, Any] = {f"stage_{s}": totals[s] for s in STAGES}
    meta["messages_in_hand"] = sum(totals[s] for s in STAGES[:5])
    for b in snap.backlog:
        meta[f"backlog_{b.lane}"] = b.waiting
        meta[f"backlog_{b.lane}_oldest_due_s"] = b.oldest_due_age_s or 0.0
    meta["sent_per_min"] = round(sum(r.sent_per_min for r in snap.rates), 2)
    meta["delivered_per_min"] = round(sum(r.delivered_per_min for r in snap.rates), 2)
    meta["failed_per_min"] = round(sum(r.failed_per_min for r in snap.rates), 2)
    agents = [a for a in snap.agents if a.kind == "agent"]
    meta["agents_alive"] = sum(a.state == "alive" for a in agents)
    meta["agents_dead"] = sum(a.state == "dead" for a in agents)
    meta["circuits_open"] = sum(c.state == "open" for c in snap.circuits)
    meta["jobs_dispatching"] = snap.jobs.get("dispatching", 0)
    meta["approvals_pending"] = sum(snap.approvals_pending.values())
    meta["overall_light"] = snap.overall()
    meta["lights_red"] = sum(x.state == "red" for x in snap.lights if x.kind != "overall")
    meta["lights_amber"] = sum(x.state == "amber" for x in snap.lights if x.kind != "overall")
    meta["snapshot_seconds"] = snap.duration_s
    meta["taken_at"] = snap.taken_at.isoformat()
    header = "| channel | " + " | ".join(STAGES) + " |\n|---|" + "---:|" * len(STAGES) + "\n"
    rows = "".join(
        f"| {name} | " + " | ".join(str(counts[s]) for s in STAGES) + " |\n"
        for name, counts in sorted(snap.by("channel").items())
    )
    meta["stages_by_channel"] = dg.MetadataValue.md(header + rows)
    meta["lights"] = dg.MetadataValue.json(
        [
            {"kind": x.kind, "name": x.name, "state": x.state, "reasons": x.reasons}
            for x in snap.lights
        ]
    )
    return meta


@dg.asset(
    group_name="operations",
    owners=OWNERS,
    kinds={"python", "sqlalchemy"},
    description="Per-stage monitoring snapshot of the operational store (queued ... delivered,"
    " failed, fell back, expired, cancelled; backlog age per lane; rates; agents; circuits;"
    " workflow queues) recorded as metadata; refreshed every 5 minutes by"
    " operations_snapshot_schedule. The live view is the screen board (ums board serve).",
    check_specs=[
        dg.AssetCheckSpec(
            LIGHTS_CHECK,
            asset="operations_snapshot",
            description="No traffic light is red (failure share, latency, backlog age,"
            " circuits, agents: thresholds UMS_MONITORING_*).",
        )
    ],
)
def operations_snapshot(
    context: dg.AssetExecutionContext, ums: UmsResource
) -> Iterator[dg.MaterializeResult[None] | dg.AssetCheckResult]:
    settings = ums.settings()
    with ums.open_store() as store:
        ums.authorize(store, "stats.view")
        snap = take_snapshot(store, settings)
    yield dg.MaterializeResult(metadata=snapshot_metadata(snap))
    red = [f"{x.kind} {x.name}: {', '.join(x.reasons)}" for x in snap.lights
           if x.state == "red" and x.kind != "overall"]  # fmt: skip
    yield dg.AssetCheckResult(
        check_name=LIGHTS_CHECK,
        passed=not red,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"red": dg.MetadataValue.json(red), "overall": snap.overall()},
    )


ASSETS = [operations_snapshot]
CHECKS: list[dg.AssetChecksDefinition] = []
