"""``take_snapshot``: per-stage counts, rates, latencies, backlog, agents, circuits and
the workflow's queues, read straight from the operational store in one transaction.

Live stages (queued ... carrier) are counted whatever their age; final stages since the
start of the Korea-time day (``Snapshot.since``); rates and latencies over the last
``UMS_MONITORING_WINDOW_MINUTES``. The traffic lights come from ``monitoring.lights``.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from ums_pipelines.lanes import Lane
from ums_pipelines.monitoring import queries as q
from ums_pipelines.monitoring import registers as reg
from ums_pipelines.monitoring.lights import judge
from ums_pipelines.monitoring.model import (
    LEGS,
    AgentRow,
    BacklogRow,
    CircuitRow,
    FailureRow,
    LatencyRow,
    RateRow,
    Snapshot,
    StageRow,
)
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, as_utc, utcnow
from ums_pipelines.store.models import ProviderBucket, ProviderCircuit

__all__ = ["day_start", "percentile", "take_snapshot"]


def day_start(now: datetime, settings: Settings) -> datetime:
    """Midnight of ``now``'s day in the business zone, as UTC."""
    local = now.astimezone(settings.tz)
    return as_utc(local.replace(hour=0, minute=0, second=0, microsecond=0))


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@contextmanager
def _consistent(store: Store) -> Iterator[Session]:
    # SQLite's read transaction is one WAL snapshot already; PostgreSQL's default (read
    # committed) would let counts taken a statement apart disagree with each other.
    with store.reading() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        yield session


def take_snapshot(store: Store, settings: Settings, now: datetime | None = None) -> Snapshot:
    started = time.monotonic()
    now = now or utcnow()
    since = day_start(now, settings)
    window = timedelta(minutes=settings.monitoring_window_minutes)
    start = now - window
    with _consistent(store) as session:
        stage_rows = q.live_stages(session) + q.delivered_today(session, since)
        failure_rows = [FailureRow(*r) for r in q.failures(session, since)]
        finished = q.finished_in_window(session, start)
        sample = q.latency_sample(session, start, settings.monitoring_latency_sample)
        backlog = q.backlog(session, now)
        claimed = reg.claimed_by_owner(session)
        agents = reg.agents(session, now)
        circuit_rows = reg.circuits(session)
        jobs, content, pending = reg.workflow(session)
    stages = [StageRow(*r) for r in stage_rows]
    folded: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for f in failure_rows:
        folded[(f.stage, f.channel, f.provider, f.lane)] += f.count
    stages += [StageRow(*key, n) for key, n in sorted(folded.items())]
    window_s = window.total_seconds()
    snapshot = Snapshot(
        taken_at=now,
        since=since,
        window_s=window_s,
        duration_s=0.0,
        stages=stages,
        failures=failure_rows,
        rates=_rates(finished, window_s),
        latencies=_latencies(sample, start),
        backlog=[_backlog(now, *row) for row in backlog],
        agents=_with_claims(agents, claimed),
        circuits=[_circuit(p, c, b) for p, c, b in circuit_rows],
        jobs=jobs,
        content=content,
        approvals_pending=pending,
        lights=[],
    )
    lights = judge(snapshot, settings)
    duration = round(time.monotonic() - started, 4)
    return Snapshot(**{**snapshot.__dict__, "lights": lights, "duration_s": duration})


def _rates(finished: list[q.Finished], window_s: float) -> list[RateRow]:
    per: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for f in finished:
        row = per[(f.channel, f.provider)]
        row[0] += f.submitted
        if f.state == "delivered":
            row[1] += f.rows
        elif f.state == "failed" and f.fell_back:
            row[3] += f.rows
        elif f.state == "failed":
            row[2] += f.rows
    minutes = window_s / 60
    out = []
    for (channel, provider), (sent, delivered, failed, fell_back) in sorted(per.items()):
        done = delivered + failed
        out.append(
            RateRow(
                channel,
                provider,
                sent,
                delivered,
                failed,
                fell_back,
                round(sent / minutes, 2),
                round(delivered / minutes, 2),
                round(failed / minutes, 2),
                round(failed / done, 4) if done else None,
            )
        )
    return out


def _latencies(sample: list[q.LatencySample], start: datetime) -> list[LatencyRow]:
    legs: dict[tuple[str, str], list[float]] = defaultdict(list)
    for s in sample:
        spans = {
            "created_to_submitted": (s.created_at, s.submitted_at)
            if s.submitted_at >= start
            else None,
            "submitted_to_carrier": (s.submitted_at, s.carrier_at) if s.carrier_at else None,
            "carrier_to_delivered": (s.carrier_at, s.delivered_at)
            if s.carrier_at and s.delivered_at
            else None,
            "submitted_to_delivered": (s.submitted_at, s.delivered_at) if s.delivered_at else None,
        }
        for leg, pair in spans.items():
            if pair is not None and pair[1] is not None:
                # Report times are the provider's clock: a skew never makes a negative wait.
                seconds = max(0.0, (pair[1] - pair[0]).total_seconds())
                legs[(leg, s.channel)].append(seconds)
    out = []
    for leg in LEGS:
        for (name, channel), values in sorted(legs.items()):
            if name == leg:
                p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
                out.append(LatencyRow(leg, channel, len(values), _r(p50), _r(p95)))
    return out


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _backlog(
    now: datetime, lane: int, waiting: int, due: int, oldest: datetime | None, unwritten: int
) -> BacklogRow:
    age = None if oldest is None else round(max(0.0, (now - oldest).total_seconds()), 1)
    return BacklogRow(Lane(lane).name.lower(), waiting, due, age, unwritten)


def _with_claims(agents: list[AgentRow], claimed: dict[str, int]) -> list[AgentRow]:
    rows = [replace(a, claimed=claimed.get(a.agent_id, 0)) for a in agents]
    known = {a.agent_id for a in agents}
    # Bulk dispatchers register no heartbeat: their claims (with leases) are their sign.
    for owner, n in sorted(claimed.items()):
        if owner not in known:
            rows.append(AgentRow(owner, "dispatcher", "active", None, None, [], n, None))
    return rows


def _circuit(provider: str, c: ProviderCircuit | None, b: ProviderBucket | None) -> CircuitRow:
    state = c.state if c is not None else "unknown"
    until = c.open_until_ns if c is not None and state == "open" else 0
    return CircuitRow(
        provider,
        state,
        c.failures if c is not None else 0,
        c.times_opened if c is not None else 0,
        datetime.fromtimestamp(until / 1e9, tz=UTC) if until else None,
        b.per_second if b is not None else None,
        b.per_hour if b is not None else None,
        b.rate_factor if b is not None else None,
    )
