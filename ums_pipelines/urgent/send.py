"""Sending an approved urgent notice: its rows are written queued in batches while urgent
senders (a send agent restricted to the urgent lane, in this process) claim and send them.

Every other running agent serving the urgent lane takes its share too; a bulk job's
dispatcher keeps its own job's rows but waits for rate-limit tokens while the urgent
lane asks for them (``dispatch/reserve.py``). The notice counts as sent when every row
is written and none is queued or claimed (held rows of the advertising night rule
aside); receipts and fallback legs come after, served by the agents.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, or_, select

from ums_pipelines import audit
from ums_pipelines.dispatch.agent import AgentConfig
from ums_pipelines.dispatch.claims import T
from ums_pipelines.dispatch.housekeeping import job_state_counts
from ums_pipelines.dispatch.ratelimit import SharedRateLimiter
from ums_pipelines.lanes import CHANNELS, Lane
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, as_utc, utcnow
from ums_pipelines.store.models import Job
from ums_pipelines.store.urgent import UrgentNotice
from ums_pipelines.urgent.enqueue import enqueue_in_child, enqueue_rows
from ums_pipelines.urgent.notices import get_notice
from ums_pipelines.urgent.sender import UrgentAgent

__all__ = ["SendReport", "first_sent", "send_notice", "unsent"]

log = logging.getLogger(__name__)
_POLL_S = 0.1
# Batches written from this process while the writer process starts (~1-2 s of imports).
_HEAD_BATCHES = 8
_HEAD_S = 5.0
_WRITE_AHEAD = 1.25


@dataclass
class SendReport:
    notice_id: int
    job_id: str
    approved_at: datetime
    predicted_s: float | None
    enqueued: int = 0
    first_sent_at: datetime | None = None
    finished_at: datetime | None = None
    states: dict[str, int] = field(default_factory=dict)

    @property
    def start_s(self) -> float | None:
        """Approval to the first message accepted by its provider."""
        if self.first_sent_at is None:
            return None
        return (self.first_sent_at - self.approved_at).total_seconds()

    @property
    def seconds(self) -> float | None:
        """Approval to the last first leg accepted: what the dry run predicts."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.approved_at).total_seconds()

    def as_json(self) -> dict[str, Any]:
        return {
            "notice_id": self.notice_id,
            "job_id": self.job_id,
            "enqueued": self.enqueued,
            "start_s": None if self.start_s is None else round(self.start_s, 3),
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "predicted_s": None if self.predicted_s is None else round(self.predicted_s, 3),
            "states": self.states,
        }


def first_sent(store: Store, job_id: str) -> datetime | None:
    with store.reading() as session:
        at = session.scalar(select(func.min(T.submitted_at)).where(T.job_id == job_id))
    return None if at is None else as_utc(at)


def unsent(store: Store, job_id: str) -> bool:
    """Whether a row of the job waits to be sent now (queued and due, or claimed)."""
    now = utcnow()
    waiting = or_(
        T.state == "claimed",
        (T.state == "queued") & or_(T.not_before.is_(None), T.not_before <= now),
    )
    with store.reading() as session:
        return session.scalar(select(T.id).where(T.job_id == job_id, waiting).limit(1)) is not None


def _last_sent(store: Store, job_id: str) -> datetime | None:
    with store.reading() as session:
        last = select(func.max(T.submitted_at)).where(T.job_id == job_id, T.leg == 0)
        at = session.scalar(last)
    return None if at is None else as_utc(at)


def _record(store: Store, report: SendReport, status: str, actor: str) -> None:
    with store.session() as session:
        notice = get_notice(session, report.notice_id)
        notice.status = status
        notice.enqueued = report.enqueued
        notice.enqueued_at = notice.enqueued_at or utcnow()
        notice.first_sent_at = report.first_sent_at
        notice.finished_at = report.finished_at
        audit.record(
            session,
            actor,
            f"urgent.{status}",
            "urgent_notice",
            str(report.notice_id),
            **report.as_json(),
        )


def _channels(notice: UrgentNotice) -> tuple[str, ...]:
    used = {c for chain in notice.routes.values() for c in chain}
    return tuple(c for c in CHANNELS if c in used)


def _pace(store: Store, settings: Settings, job_id: str, predicted_s: float | None) -> float:
    """Rows a second the writer keeps to: a quarter above what the dry run expects to be
    sent (the head written first keeps it ahead); faster, its CPU and writes slowed the
    senders it feeds."""
    with store.reading() as session:
        targets = session.scalar(select(Job.target_count).where(Job.job_id == job_id)) or 0
    sending = max((predicted_s or 0.0) - settings.urgent_start_s, 1.0)
    return max(_WRITE_AHEAD * targets / sending, float(settings.urgent_write_batch))


async def _write(store: Store, settings: Settings, job_id: str, predicted_s: float | None) -> int:
    """The first rows from this process (sending starts on them at once), the rest from
    a child process started meanwhile (rendering 100,000 rows here took the senders'
    GIL: the first 20 s of a notice went out at half the provider's rate), paced."""
    pace = await asyncio.to_thread(_pace, store, settings, job_id, predicted_s)
    # Enough to send while the child starts (imports: 2-3 s on a loaded machine); when
    # the head ran out first, the notice stalled and its reservation lapsed.
    head = max(settings.urgent_write_batch * _HEAD_BATCHES, int(_HEAD_S * pace / _WRITE_AHEAD))
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        rest = loop.run_in_executor(pool, enqueue_in_child, settings, job_id, head, pace)
        written = await asyncio.to_thread(enqueue_rows, store, settings, job_id, last=head)
        return written + await rest


async def send_notice(
    store: Store,
    settings: Settings,
    notice_id: int,
    approved_at: datetime,
    *,
    actor: str,
    client: httpx.AsyncClient | None = None,
    limiter: SharedRateLimiter | None = None,
    deadline_s: float = 3600.0,
    progress: Callable[[str], None] | None = None,
) -> SendReport:
    """Write the approved notice's rows and send them until none is left to send."""
    with store.session() as session:
        notice = get_notice(session, notice_id)
        if notice.status not in ("approved", "sending"):
            raise ValueError(f"notice_id: notice {notice_id} is {notice.status}, not approved")
        job_id, channels, predicted = notice.job_id, _channels(notice), notice.predicted_s
        notice.status = "sending"
    report = SendReport(notice_id, job_id, approved_at, predicted)
    config = AgentConfig(
        lanes=(Lane.URGENT,),
        channels=channels,
        express_workers=settings.urgent_sender_workers,
        express_batch=settings.urgent_sender_batch,
        inbox_every_s=0,
        # Its sweeps are write transactions, and a status query asks about every row
        # still without a receipt (all of them, with receipts deferred): the agents
        # running beside it do both for every lane; this one only sends.
        tick_s=1.0,
        status_grace_s=3600.0,
    )
    agent = UrgentAgent(store, settings, config, agent_id=f"urgent-{notice_id}-{id(report):x}"[:32])
    if limiter is not None:
        agent.limiter = limiter
    sender = asyncio.create_task(agent.run(client))
    writer = asyncio.create_task(_write(store, settings, job_id, predicted))
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline_s
    status = "sent"
    try:
        while True:
            await asyncio.sleep(_POLL_S)
            if report.first_sent_at is None:
                report.first_sent_at = await asyncio.to_thread(first_sent, store, job_id)
                if report.first_sent_at is not None and progress is not None:
                    progress(f"first message accepted {report.start_s:.2f} s after approval")
            if writer.done():
                report.enqueued = writer.result()  # raises what the writer raised
                if not await asyncio.to_thread(unsent, store, job_id):
                    break
            if sender.done():
                sender.result()
                raise RuntimeError("the urgent sender stopped before the notice was sent")
            if loop.time() > give_up:
                status = "deadline"
                break
    finally:
        agent.stop()
        await sender
        if not writer.done():
            writer.cancel()
    if report.first_sent_at is None:
        report.first_sent_at = await asyncio.to_thread(first_sent, store, job_id)
    report.finished_at = await asyncio.to_thread(_last_sent, store, job_id)
    report.states = await asyncio.to_thread(job_state_counts, store, job_id)
    await asyncio.to_thread(_record, store, report, status, actor)
    return report
