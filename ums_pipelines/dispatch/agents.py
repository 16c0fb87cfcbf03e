"""The central register of send agents: who serves which lanes and providers, and who died.

An agent heartbeats every lease/3. One whose heartbeat is older than its own lease is
declared dead by whichever live agent notices first; the rows it had claimed are reaped
by their lease (``claims.reap_expired``), so nothing waits on a dead agent for longer
than its lease.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ums_pipelines.store.engine import Store, as_utc, utcnow
from ums_pipelines.store.sendplane import Agent as AgentRow

__all__ = [
    "AgentInfo",
    "heartbeat",
    "list_agents",
    "mark_dead",
    "mark_stopped",
    "new_agent_id",
    "register_agent",
]


@dataclass(frozen=True)
class AgentInfo:
    agent_id: str
    host: str
    pid: int
    lanes: list[int]
    providers: list[str]
    state: str  # alive | dead | stopped
    started_at: datetime
    heartbeat_at: datetime
    heartbeat_age_s: float
    lease_seconds: int
    sent: int


def new_agent_id() -> str:
    host = socket.gethostname().split(".")[0][:24]
    return f"agent-{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def register_agent(
    store: Store,
    agent_id: str,
    lanes: Sequence[int],
    providers: Sequence[str],
    lease_seconds: int,
) -> None:
    now = utcnow()
    with store.session() as session:
        session.add(
            AgentRow(
                agent_id=agent_id,
                host=socket.gethostname()[:255],
                pid=os.getpid(),
                lanes=[int(lane) for lane in lanes],
                providers=list(providers),
                state="running",
                started_at=now,
                heartbeat_at=now,
                lease_seconds=lease_seconds,
                sent=0,
            )
        )


def heartbeat(store: Store, agent_id: str, sent: int) -> None:
    # state is set too: an agent declared dead during a long stall is alive again (its
    # reaped rows are simply sent by whoever claims them; its late results are refused).
    # A stopped agent stays stopped, whatever heartbeat was still on its way.
    with store.session() as session:
        session.execute(
            update(AgentRow)
            .where(AgentRow.agent_id == agent_id, AgentRow.state != "stopped")
            .values(heartbeat_at=utcnow(), sent=sent, state="running")
        )


def mark_stopped(store: Store, agent_id: str, sent: int) -> None:
    with store.session() as session:
        session.execute(
            update(AgentRow)
            .where(AgentRow.agent_id == agent_id)
            .values(heartbeat_at=utcnow(), sent=sent, state="stopped")
        )


def mark_dead(store: Store, now: datetime | None = None) -> list[str]:
    """Declare dead every running agent whose heartbeat is older than its lease."""
    now = now or utcnow()
    with store.session() as session:
        running = session.execute(
            select(AgentRow.agent_id, AgentRow.heartbeat_at, AgentRow.lease_seconds).where(
                AgentRow.state == "running"
            )
        ).all()
        dead = [
            agent_id
            for agent_id, beat, lease in running
            if as_utc(beat) + timedelta(seconds=lease) < now
        ]
        if dead:
            session.execute(
                update(AgentRow)
                .where(AgentRow.agent_id.in_(dead), AgentRow.state == "running")
                .values(state="dead")
            )
    return dead


def list_agents(store: Store, limit: int = 100) -> list[AgentInfo]:
    """Registered agents, newest first; a running one past its lease shows as dead."""
    now = utcnow()
    with store.session() as session:
        rows = session.scalars(
            select(AgentRow).order_by(AgentRow.started_at.desc()).limit(limit)
        ).all()
    infos = []
    for r in rows:
        age = (now - as_utc(r.heartbeat_at)).total_seconds()
        state = r.state
        if state == "running":
            state = "alive" if age <= r.lease_seconds else "dead"
        infos.append(
            AgentInfo(
                r.agent_id,
                r.host,
                r.pid,
                [int(x) for x in r.lanes],
                [str(p) for p in r.providers],
                state,
                as_utc(r.started_at),
                as_utc(r.heartbeat_at),
                age,
                r.lease_seconds,
                r.sent,
            )
        )
    return infos
