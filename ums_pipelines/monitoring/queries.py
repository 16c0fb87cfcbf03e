"""The snapshot's SQL: grouped counts over indexed columns, never a row per message.

Every statement filters on an indexed prefix: live states on ``state`` (few rows: the
work in hand), final states and the recent window on (``state``, ``updated_at``) of
``ix_messages_monitor`` or on ``updated_at``; per-message lookups (the stage a failure
ended at, carrier and handset times) run only for failed rows of the day and for the
latency sample. All of them run in one read transaction (``Store.reading``; on
PostgreSQL a repeatable-read snapshot), so the stage counts of a snapshot add up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ums_pipelines.lanes import lane_of
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import (
    DeliveryEvent,
    Job,
    Message,
)
from ums_pipelines.store.sendplane import JobChunk

__all__ = [
    "Finished",
    "LatencySample",
    "backlog",
    "delivered_today",
    "failures",
    "finished_in_window",
    "lane_name",
    "latency_sample",
    "live_stages",
]

M, E = Message, DeliveryEvent
_NOT_SENDING = ("paused", "cancelled", "stopped", "done", "rejected")
_FELL_BACK = case((M.next_leg_id.is_(None), 0), else_=1)


def lane_name(priority: int) -> str:
    return lane_of(int(priority)).name.lower()


def live_stages(session: Session) -> list[tuple[str, str, str, str, int]]:
    """(stage, channel, provider, lane, count) of the rows in hand."""
    out: list[tuple[str, str, str, str, int]] = []
    rows = session.execute(
        select(M.state, M.channel, M.provider, M.priority, func.count())
        .where(M.state.in_(("queued", "held", "claimed", "accepted")))
        .group_by(M.state, M.channel, M.provider, M.priority)
    ).all()
    # Of the rows the relay accepted, those the carrier reported accepted too.
    at_carrier = {
        (ch, pr, prio): n
        for ch, pr, prio, n in session.execute(
            select(M.channel, M.provider, M.priority, func.count())
            .where(
                M.state == "accepted",
                select(E.id).where(E.message_id == M.id, E.stage == "carrier").exists(),
            )
            .group_by(M.channel, M.provider, M.priority)
        ).all()
    }
    for state, channel, provider, priority, n in rows:
        lane = lane_name(priority)
        if state == "accepted":
            carried = at_carrier.get((channel, provider, priority), 0)
            out.append(("carrier", channel, provider, lane, carried))
            out.append(("submitted", channel, provider, lane, n - carried))
        else:
            out.append((state, channel, provider, lane, n))
    return [r for r in out if r[4]]


def delivered_today(session: Session, since: datetime) -> list[tuple[str, str, str, str, int]]:
    rows = session.execute(
        select(M.channel, M.provider, M.priority, func.count())
        .where(M.state == "delivered", M.updated_at >= since)
        .group_by(M.channel, M.provider, M.priority)
    ).all()
    return [("delivered", ch, pr, lane_name(prio), n) for ch, pr, prio, n in rows]


def failures(session: Session, since: datetime) -> list[tuple[str, str, str, str, str, str, int]]:
    """(stage, at, reason, channel, provider, lane, count) of failed, fell-back, expired
    and cancelled rows since ``since``; ``at`` is the stage that reported the failure."""
    reported = (
        select(E.stage)
        .where(E.message_id == M.id, E.status.in_(("failed", "rejected")))
        .order_by(E.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    failed = (
        select(
            M.channel,
            M.provider,
            M.priority,
            func.coalesce(M.error_code, "-").label("reason"),
            _FELL_BACK.label("fb"),
            func.coalesce(reported, "ums").label("at"),
        )
        .where(M.state == "failed", M.updated_at >= since)
        .subquery()
    )
    out = []
    cols = [failed.c.channel, failed.c.provider, failed.c.priority, failed.c.reason]
    grouped = select(*cols, failed.c.fb, failed.c.at, func.count()).group_by(
        *cols, failed.c.fb, failed.c.at
    )
    for row in session.execute(grouped).all():
        ch, pr, prio, reason, fb, at, n = tuple(row)
        stage = "fell_back" if fb else "failed"
        out.append((stage, str(at), str(reason), ch, pr, lane_name(prio), int(n)))
    # Expired or cancelled: before the send (ums) or after the relay took it.
    at_relay = case((M.submitted_at.is_(None), "ums"), else_="relay")
    ended = select(
        M.state,
        M.channel,
        M.provider,
        M.priority,
        func.coalesce(M.error_code, "-").label("reason"),
        at_relay.label("at"),
    ).where(M.state.in_(("expired", "cancelled")), M.updated_at >= since)
    sub = ended.subquery()
    keys = [sub.c.state, sub.c.channel, sub.c.provider, sub.c.priority, sub.c.reason, sub.c.at]
    by_reason = select(*keys, func.count()).group_by(*keys)
    for row in session.execute(by_reason).all():
        state, ch, pr, prio, reason, at, n = tuple(row)
        out.append((state, str(at), str(reason), ch, pr, lane_name(prio), int(n)))
    return out


@dataclass(frozen=True)
class Finished:
    channel: str
    provider: str
    state: str
    fell_back: bool
    rows: int
    submitted: int  # of them, accepted by the relay within the window


def finished_in_window(session: Session, start: datetime) -> list[Finished]:
    """Rows changed since ``start`` (the ``updated_at`` index), by state, with how many
    of them the relay accepted within the window: the basis of the per-minute rates."""
    sent = func.sum(case((M.submitted_at >= start, 1), else_=0))
    rows = session.execute(
        select(M.channel, M.provider, M.state, _FELL_BACK, func.count(), sent)
        .where(M.updated_at >= start)
        .group_by(M.channel, M.provider, M.state, _FELL_BACK)
    ).all()
    return [Finished(ch, pr, st, bool(fb), int(n), int(s or 0)) for ch, pr, st, fb, n, s in rows]


@dataclass(frozen=True)
class LatencySample:
    channel: str
    created_at: datetime
    submitted_at: datetime
    carrier_at: datetime | None
    delivered_at: datetime | None


def latency_sample(session: Session, start: datetime, limit: int) -> list[LatencySample]:
    """The newest rows of the window the relay accepted, with the carrier's and the
    handset's report times (the provider's clock) where they came."""
    carrier_at = (
        select(func.min(E.occurred_at))
        .where(E.message_id == M.id, E.stage == "carrier")
        .scalar_subquery()
    )
    delivered_at = (
        select(func.min(E.occurred_at))
        .where(E.message_id == M.id, E.status == "delivered")
        .scalar_subquery()
    )
    rows = session.execute(
        select(M.channel, M.state, M.created_at, M.submitted_at, M.completed_at)
        .add_columns(carrier_at, delivered_at)
        .where(M.updated_at >= start, M.submitted_at.is_not(None))
        .order_by(M.updated_at.desc())
        .limit(limit)
    ).all()
    out = []
    for ch, state, created, submitted, completed, carrier, delivered in rows:
        if state == "delivered":
            delivered = delivered or completed
        out.append(
            LatencySample(
                ch,
                as_utc(created),
                as_utc(submitted),
                _utc(carrier),
                _utc(delivered) if state == "delivered" else None,
            )
        )
    return out


def _utc(value: Any) -> datetime | None:
    return None if value is None else as_utc(value)


def backlog(session: Session, now: datetime) -> list[tuple[int, int, int, datetime | None, int]]:
    """(lane, waiting, due, oldest due start, unwritten) per lane. A row is due once its
    not-before (a retry's back-off, a night hold) has passed; its age counts from then."""
    start = func.coalesce(M.not_before, M.created_at)
    due = start <= now
    per: dict[int, list[Any]] = {}
    for prio, waiting, n_due, oldest in session.execute(
        select(
            M.priority,
            func.count(),
            func.sum(case((due, 1), else_=0)),
            func.min(case((due, start))),
        )
        .where(M.state.in_(("queued", "claimed")))
        .group_by(M.priority)
    ).all():
        lane = int(lane_of(int(prio)))
        row = per.setdefault(lane, [0, 0, None, 0])
        row[0] += int(waiting)
        row[1] += int(n_due or 0)
        if oldest is not None:
            when = as_utc(oldest)
            row[2] = when if row[2] is None else min(row[2], when)
    # Bulk splits not yet written to the outbox (jobs.priority is a lane), of jobs that
    # may still write them: a job sends from targeted/approved on, as the runner finds it.
    for lane, size in session.execute(
        select(Job.priority, func.sum(JobChunk.size))
        .join(Job, Job.job_id == JobChunk.job_id)
        .where(JobChunk.state.in_(("pending", "claimed")), Job.status.not_in(_NOT_SENDING))
        .group_by(Job.priority)
    ).all():
        per.setdefault(int(lane_of(int(lane) * 10)), [0, 0, None, 0])[3] += int(size or 0)
    return [(lane, *row) for lane, row in sorted(per.items())]
