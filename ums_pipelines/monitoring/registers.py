"""The snapshot's reads of the registers beside the outbox: send agents and the rows they
hold, provider circuits and rate limits, and the workflow's queues (jobs, content,
approvals). Small tables, read in the snapshot's own read transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from ums_pipelines.lanes import Lane
from ums_pipelines.monitoring.model import AgentRow
from ums_pipelines.store.compliance import ReviewRequest
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import (
    Job,
    Message,
    ProviderBucket,
    ProviderCircuit,
    TemplateVersion,
)
from ums_pipelines.store.sendplane import Agent

__all__ = ["agents", "circuits", "claimed_by_owner", "workflow"]

M = Message
PACE_PREFIX = "job:"


def agents(session: Session, now: datetime, limit: int = 100) -> list[AgentRow]:
    """Registered agents, newest first, read in the snapshot's own (read-only) session;
    a running agent past its lease shows as dead (as ``dispatch.agents.list_agents``)."""
    out = []
    for r in session.scalars(select(Agent).order_by(Agent.started_at.desc()).limit(limit)):
        beat = as_utc(r.heartbeat_at)
        age = (now - beat).total_seconds()
        state = ("alive" if age <= r.lease_seconds else "dead") if r.state == "running" else r.state
        lanes = [Lane(int(x)).name.lower() for x in r.lanes if int(x) in Lane._value2member_map_]
        out.append(AgentRow(r.agent_id, "agent", state, beat, round(age, 1), lanes, 0, r.sent))
    return out


def claimed_by_owner(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(M.lease_owner, func.count())
        .where(M.state == "claimed", M.lease_owner.is_not(None))
        .group_by(M.lease_owner)
    ).all()
    return {str(owner): int(n) for owner, n in rows}


def circuits(
    session: Session,
) -> list[tuple[str, ProviderCircuit | None, ProviderBucket | None]]:
    """(provider, circuit row or None, bucket row or None) for every provider known to
    either the breaker or the rate limiter."""
    circ = {r.provider: r for r in session.scalars(select(ProviderCircuit))}
    # A bulk job's own pace is a bucket too ("job:<digest>", dispatch/housekeeping.py):
    # not a provider.
    buckets = {
        r.provider: r
        for r in session.scalars(select(ProviderBucket))
        if not r.provider.startswith(PACE_PREFIX)
    }
    return [(p, circ.get(p), buckets.get(p)) for p in sorted(set(circ) | set(buckets))]


def workflow(session: Session) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Jobs by status, content versions by status, and what waits for a person."""
    jobs: dict[str, int] = dict(
        session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    )
    # A version has a row per channel: count versions, not rows.
    versions = (
        select(TemplateVersion.template_id, TemplateVersion.version, TemplateVersion.status)
        .distinct()
        .subquery()
    )
    by_status = select(versions.c.status, func.count()).group_by(versions.c.status)
    content: dict[str, int] = dict(session.execute(by_status).all())
    reviews = session.scalar(
        select(func.count(distinct(ReviewRequest.id))).where(ReviewRequest.status == "pending")
    )
    pending = {
        "jobs_awaiting_approval": int(jobs.get("pending_approval", 0)),
        "content_in_review": int(content.get("in_review", 0)),
        "content_awaiting_approval": int(content.get("reviewed", 0)),
        "review_requests_open": int(reviews or 0),
    }
    return (
        {str(k): int(v) for k, v in jobs.items()},
        {str(k): int(v) for k, v in content.items()},
        pending,
    )
