"""Our side of a scenario: the real pipeline end to end, from target extraction to every
message accepted by the gateway with its result recorded in the outbox.

``Dispatcher.run_job`` runs until every message is terminal, i.e. until receipts; the
bench stops it once every row of the job is accepted (no row queued or claimed, every
split written) by pausing the job, and times the run up to the last recorded result
(``max(submitted_at)``), so neither receipt waiting nor shut-down is in the figure.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from ums_pipelines.bench.population import BenchStore
from ums_pipelines.compliance.approvals import approve_job
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.dispatch.housekeeping import chunks_left
from ums_pipelines.dispatch.ratelimit import SharedRateLimiter
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import Job, Message
from ums_pipelines.targets import extract_targets

__all__ = ["BENCH_HEAD", "JobRun", "all_submitted", "approve", "run_job_until_accepted", "stop_job"]

_POLL_S = 0.2
BENCH_HEAD = "bench-head"


@dataclass(frozen=True)
class JobRun:
    job_id: str
    started: datetime
    ended: datetime
    submitted: int

    @property
    def seconds(self) -> float:
        return (self.ended - self.started).total_seconds()


def all_submitted(bs: BenchStore, job_id: str) -> bool:
    if chunks_left(bs.store, job_id):
        return False
    with bs.store.session() as session:
        pending = session.scalar(
            select(func.count()).where(
                Message.job_id == job_id, Message.state.in_(("queued", "claimed"))
            )
        )
    return not pending


def approve(bs: BenchStore, job_id: str) -> None:
    """The department head's approval of the frozen list, by someone other than its
    author ("bench"), as ``ums approval approve`` would record it."""
    with bs.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        grant_role(session, BENCH_HEAD, "approver", job.department, granted_by="bench-admin")
        approve_job(session, job_id, BENCH_HEAD)


def stop_job(bs: BenchStore, job_id: str) -> None:
    """Pause the job: the dispatcher's housekeeping notices and returns."""
    with bs.store.session() as session:
        session.execute(update(Job).where(Job.job_id == job_id).values(status="paused"))


def _submitted(bs: BenchStore, job_id: str) -> tuple[int, datetime | None]:
    with bs.store.session() as session:
        n, last = session.execute(
            select(func.count(Message.submitted_at), func.max(Message.submitted_at)).where(
                Message.job_id == job_id
            )
        ).one()
    return int(n), None if last is None else as_utc(last)


async def run_job_until_accepted(
    bs: BenchStore,
    job_id: str,
    limiter: SharedRateLimiter | None = None,
    deadline_s: float = 3600.0,
) -> JobRun:
    """Extract targets, approve (untimed) and dispatch the job until every message is
    accepted; timed."""
    started = utcnow()
    await asyncio.to_thread(extract_targets, bs.store, bs.settings, job_id)
    # Four-eyes, as any job above the threshold needs: not part of the figure.
    approving = utcnow()
    await asyncio.to_thread(approve, bs, job_id)
    started += utcnow() - approving
    dispatcher = Dispatcher(bs.store, bs.settings, limiter=limiter)
    task = asyncio.create_task(dispatcher.run_job(job_id, deadline_seconds=deadline_s))
    give_up = time.monotonic() + deadline_s
    while not task.done() and time.monotonic() < give_up:
        await asyncio.sleep(_POLL_S)
        if await asyncio.to_thread(all_submitted, bs, job_id):
            break
    await asyncio.to_thread(stop_job, bs, job_id)
    await task
    n, last = await asyncio.to_thread(_submitted, bs, job_id)
    return JobRun(job_id, started, last or utcnow(), n)
