"""Prometheus metrics of the snapshot: a collector that takes one snapshot per scrape.

Every family is a gauge (a count now, or since the Korea-time day began, as the board
shows it); names start with ``ums_`` and labels are channel, provider, lane, stage,
reason, agent. The list with meanings is in docs/operations.md. The collector has its
own registry (``registry``): the process's default one would add Python's own metrics
and let a second board in one process register twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from ums_pipelines.monitoring.model import LIGHTS, Snapshot

__all__ = ["CONTENT_TYPE_LATEST", "SnapshotCollector", "exposition", "families", "registry"]

_CIRCUIT_STATES = ("closed", "half_open", "open")


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def families(snap: Snapshot) -> list[Metric]:
    """The snapshot as metric families (pure: no store access)."""
    stage = _gauge(
        "ums_messages",
        "Outbox rows per stage: live stages now, final stages since the Korea-time day began.",
        ["stage", "channel", "provider", "lane"],
    )
    for s in snap.stages:
        stage.add_metric([s.stage, s.channel, s.provider, s.lane], s.count)
    failures = _gauge(
        "ums_message_failures",
        "Failed, fell-back, expired and cancelled rows today by where they ended and the code.",
        ["stage", "at", "reason", "channel", "provider", "lane"],
    )
    for f in snap.failures:
        failures.add_metric([f.stage, f.at, f.reason, f.channel, f.provider, f.lane], f.count)
    rate = _gauge(
        "ums_messages_per_minute",
        "Messages per minute over the recent window: sent (relay accepted), delivered, failed.",
        ["kind", "channel", "provider"],
    )
    share = _gauge(
        "ums_failure_share",
        "Final failures / (delivered + final failures) over the recent window.",
        ["channel", "provider"],
    )
    for r in snap.rates:
        rate.add_metric(["sent", r.channel, r.provider], r.sent_per_min)
        rate.add_metric(["delivered", r.channel, r.provider], r.delivered_per_min)
        rate.add_metric(["failed", r.channel, r.provider], r.failed_per_min)
        if r.failure_share is not None:
            share.add_metric([r.channel, r.provider], r.failure_share)
    latency = _gauge(
        "ums_stage_latency_seconds",
        "Latency of a leg over the recent window by quantile (0.5, 0.95).",
        ["stage", "channel", "quantile"],
    )
    for lat in snap.latencies:
        for q, value in (("0.5", lat.p50_s), ("0.95", lat.p95_s)):
            if value is not None:
                latency.add_metric([lat.leg, lat.channel, q], value)
    backlog = _gauge("ums_backlog_messages", "Queued or claimed rows per lane.", ["lane"])
    due = _gauge("ums_backlog_due_messages", "Of them, due now (not held back).", ["lane"])
    age = _gauge("ums_backlog_oldest_age_seconds", "Age of the oldest due row per lane.", ["lane"])
    unwritten = _gauge(
        "ums_backlog_unwritten_messages", "Targets of bulk splits not yet written.", ["lane"]
    )
    for b in snap.backlog:
        backlog.add_metric([b.lane], b.waiting)
        due.add_metric([b.lane], b.due)
        unwritten.add_metric([b.lane], b.unwritten)
        age.add_metric([b.lane], b.oldest_due_age_s or 0.0)
    up = _gauge("ums_agent_up", "1 while a send agent heartbeats within its lease.", ["agent"])
    beat = _gauge("ums_agent_heartbeat_age_seconds", "Since an agent's last heartbeat.", ["agent"])
    claimed = _gauge(
        "ums_agent_claimed_messages", "Rows leased by an agent or dispatcher.", ["agent"]
    )
    for a in snap.agents:
        claimed.add_metric([a.agent_id], a.claimed)
        if a.kind == "agent" and a.state != "stopped":
            up.add_metric([a.agent_id], 1 if a.state == "alive" else 0)
            beat.add_metric([a.agent_id], a.heartbeat_age_s or 0.0)
    circuit = _gauge(
        "ums_circuit_state", "1 for a provider's current circuit state.", ["provider", "state"]
    )
    opened = _gauge("ums_circuit_times_opened", "How often the circuit opened.", ["provider"])
    limit = _gauge("ums_rate_limit_per_second", "A provider's configured send rate.", ["provider"])
    factor = _gauge(
        "ums_rate_limit_factor", "Effective / configured rate after back-pressure.", ["provider"]
    )
    for c in snap.circuits:
        if c.state in _CIRCUIT_STATES:
            for state in _CIRCUIT_STATES:
                circuit.add_metric([c.provider, state], 1 if c.state == state else 0)
            opened.add_metric([c.provider], c.times_opened)
        if c.per_second is not None:
            limit.add_metric([c.provider], c.per_second)
        if c.rate_factor is not None:
            factor.add_metric([c.provider], c.rate_factor)
    jobs = _gauge("ums_jobs", "Jobs per workflow status.", ["status"])
    for name, n in sorted(snap.jobs.items()):
        jobs.add_metric([name], n)
    content = _gauge("ums_content_versions", "Content versions per status.", ["status"])
    for name, n in sorted(snap.content.items()):
        content.add_metric([name], n)
    pending = _gauge("ums_approvals_pending", "What waits for a person's decision.", ["kind"])
    for name, n in sorted(snap.approvals_pending.items()):
        pending.add_metric([name], n)
    light = _gauge("ums_light", "Traffic light: 0 green, 1 amber, 2 red.", ["kind", "name"])
    for x in snap.lights:
        light.add_metric([x.kind, x.name], LIGHTS.index(x.state))
    took = GaugeMetricFamily(
        "ums_snapshot_duration_seconds", "Time the snapshot's queries took.", snap.duration_s
    )
    at = GaugeMetricFamily(
        "ums_snapshot_timestamp_seconds", "When the snapshot was taken.", snap.taken_at.timestamp()
    )
    return [
        *(stage, failures, rate, share, latency, backlog, due, age, unwritten, up, beat),
        *(claimed, circuit, opened, limit, factor, jobs, content, pending, light, took, at),
    ]


class SnapshotCollector:
    """Takes a snapshot (``take()``) on every scrape."""

    def __init__(self, take: Callable[[], Snapshot]) -> None:
        self._take = take

    def collect(self) -> Iterable[Metric]:
        return families(self._take())

    def describe(self) -> Iterable[Metric]:
        # Registering must not run the queries (the default describe() collects).
        return []


def registry(take: Callable[[], Snapshot]) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(SnapshotCollector(take))
    return reg


def exposition(reg: CollectorRegistry) -> bytes:
    """The text exposition format of one scrape."""
    return generate_latest(reg)
