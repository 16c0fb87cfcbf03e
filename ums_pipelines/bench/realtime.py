"""realtime_under_bulk: transactional messages submitted at a steady rate through the
real-time intake while a bulk job is being sent, served by a send agent.

The bulk job runs in its own process (as a dispatch run would), the agent and the
callers in this one; latency is from the request accepted (its row and first leg
written, ``send_requests.received_at``) to the gateway's acceptance (``submitted_at``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from sqlalchemy import func, select

from ums_pipelines.bench.model import Measurement, peak_rss_mb, percentile
from ums_pipelines.bench.ours import run_job_until_accepted, stop_job
from ums_pipelines.bench.population import RT_TEMPLATE, BenchStore, open_store
from ums_pipelines.dispatch.agent import AgentConfig, start_agent
from ums_pipelines.dispatch.intake import request_latencies, submit
from ums_pipelines.dispatch.standing import standing_job
from ums_pipelines.lanes import Lane
from ums_pipelines.store.models import Message

__all__ = ["bulk_main", "realtime_under_bulk"]

_DRAIN_S = 30.0


def bulk_main(rundir: str, gateway_url: str, job_id: str) -> None:
    """The bulk job's own process: dispatch until accepted (or paused by the bench)."""
    bs = open_store(Path(rundir), gateway_url)
    asyncio.run(run_job_until_accepted(bs, job_id))


def _bulk_sent(bs: BenchStore, job_id: str) -> int:
    with bs.store.session() as session:
        n = session.scalar(select(func.count(Message.submitted_at)).where(Message.job_id == job_id))
    return int(n or 0)


async def _callers(bs: BenchStore, job_id: str, rate: float, seconds: float, size: int) -> int:
    """Submit ``rate`` requests a second for ``seconds``, each on its own schedule."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    count = int(rate * seconds)
    tasks = []
    # The callers are other systems: their own threads, not the agent's executor.
    with ThreadPoolExecutor(16, thread_name_prefix="caller") as pool:
        for i in range(count):
            await asyncio.sleep(max(0.0, started + i / rate - loop.time()))
            call = partial(
                submit,
                bs.store,
                bs.settings,
                caller="bench",
                caller_key=f"{job_id}-{i}",
                customer_id=f"B{i % size:08d}",
                job_id=job_id,
                variables={},
                lane=Lane.TRANSACTIONAL,
            )
            tasks.append(loop.run_in_executor(pool, call))
        await asyncio.gather(*tasks)
    return count


async def realtime_under_bulk(
    bs: BenchStore, rundir: Path, bulk_job: str, size: int, rate: float, seconds: float
) -> Measurement:
    rt_job = standing_job(bs.store, RT_TEMPLATE, Lane.TRANSACTIONAL)
    ctx = multiprocessing.get_context("spawn")
    bulk = ctx.Process(target=bulk_main, args=(str(rundir), bs.settings.gateway_url, bulk_job))
    bulk.start()
    agent, agent_task = start_agent(
        bs.store, bs.settings, AgentConfig(channels=("sms",), inbox_every_s=0)
    )
    try:
        # Measure only once the bulk job is actually sending.
        while await asyncio.to_thread(_bulk_sent, bs, bulk_job) == 0:
            if not bulk.is_alive():
                raise RuntimeError("the bulk job's process ended before it sent anything")
            await asyncio.sleep(0.1)
        count = await _callers(bs, rt_job, rate, seconds, size)
        deadline = time.monotonic() + _DRAIN_S
        latencies: list[float] = []
        while time.monotonic() < deadline:
            latencies = await asyncio.to_thread(request_latencies, bs.store, None, [rt_job])
            if len(latencies) >= count:
                break
            await asyncio.sleep(0.1)
        still_bulk = bulk.is_alive()
    finally:
        agent.stop()
        await agent_task
        await asyncio.to_thread(stop_job, bs, bulk_job)
        await asyncio.to_thread(bulk.join, 60)
    if not still_bulk:
        raise RuntimeError("the bulk job finished before the real-time window ended")
    latencies.sort()
    return Measurement(
        messages=len(latencies),
        # Accepted real-time messages over the window they were offered in.
        seconds=seconds,
        peak_rss_mb=peak_rss_mb(),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
    )
