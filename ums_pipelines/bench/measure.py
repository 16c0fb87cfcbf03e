"""One measurement, run in a fresh child process: its peak RSS is its own, and no state
(caches, pools, garbage) carries from one measurement into the next."""

from __future__ import annotations

import asyncio
import inspect
import multiprocessing
import uuid
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from ums_pipelines.bench.ceiling import bulk_ceiling, push_ceiling
from ums_pipelines.bench.model import Measurement, peak_rss_mb
from ums_pipelines.bench.ours import run_job_until_accepted
from ums_pipelines.bench.population import fresh_store
from ums_pipelines.bench.realtime import realtime_under_bulk
from ums_pipelines.bench.simproc import max_in_window
from ums_pipelines.channels.providers import FcmAdapter, SmsRelayAdapter
from ums_pipelines.dispatch.compose import PROVIDERS
from ums_pipelines.dispatch.ratelimit import ProviderLimit, SharedRateLimiter

__all__ = ["Spec", "measure", "measure_in_child"]


@dataclass(frozen=True)
class Spec:
    """What to measure: ``kind`` is one of the functions below."""

    kind: str
    base: str  # the cached base store to copy
    rundir: str
    gateway_url: str
    messages: int
    rate: float = 0.0
    seconds: float = 0.0


async def _bulk_ours(spec: Spec) -> Measurement:
    bs = fresh_store(Path(spec.base), Path(spec.rundir), spec.gateway_url)
    run = await run_job_until_accepted(bs, bs.register("sms"))
    return Measurement(run.submitted, run.seconds, peak_rss_mb())


async def _bulk_ceiling(spec: Spec) -> Measurement:
    bs = fresh_store(Path(spec.base), Path(spec.rundir), spec.gateway_url)
    job_id = bs.register("sms", prefix="c")
    seconds = await bulk_ceiling(
        bs, job_id, spec.messages, SmsRelayAdapter.batch_size, SmsRelayAdapter.concurrency
    )
    return Measurement(spec.messages, seconds, peak_rss_mb())


async def _push_ours(spec: Spec) -> Measurement:
    bs = fresh_store(Path(spec.base), Path(spec.rundir), spec.gateway_url)
    run = await run_job_until_accepted(bs, bs.register("push"))
    return Measurement(run.submitted, run.seconds, peak_rss_mb())


async def _push_ceiling(spec: Spec) -> Measurement:
    prefix = f"cp{uuid.uuid4().hex[:10]}"
    # FcmAdapter's default in-flight bound is the concurrency both sides run at.
    in_flight = int(inspect.signature(FcmAdapter).parameters["in_flight"].default)
    seconds = await push_ceiling(spec.gateway_url, prefix, spec.messages, in_flight)
    return Measurement(spec.messages, seconds, peak_rss_mb())


async def _realtime(spec: Spec) -> Measurement:
    bs = fresh_store(Path(spec.base), Path(spec.rundir), spec.gateway_url)
    bulk_job = bs.register("sms")
    return await realtime_under_bulk(
        bs, Path(spec.rundir), bulk_job, spec.messages, spec.rate, spec.seconds
    )


async def _rate_limited(spec: Spec) -> Measurement:
    bs = fresh_store(Path(spec.base), Path(spec.rundir), spec.gateway_url)
    limiter = SharedRateLimiter(bs.store)
    limiter.configure([ProviderLimit(PROVIDERS["sms"], spec.rate)])
    job_id = bs.register("sms")
    run = await run_job_until_accepted(bs, job_id, limiter=limiter)
    peak = await asyncio.to_thread(max_in_window, spec.gateway_url, "sms", f"{job_id}.")
    return Measurement(run.submitted, run.seconds, peak_rss_mb(), max_in_window=peak)


_KINDS = {
    "bulk_ours": _bulk_ours,
    "bulk_ceiling": _bulk_ceiling,
    "push_ours": _push_ours,
    "push_ceiling": _push_ceiling,
    "realtime": _realtime,
    "rate_limited": _rate_limited,
}


def measure(spec: Spec) -> Measurement:
    """Run one measurement in this process."""
    return asyncio.run(_KINDS[spec.kind](spec))


def _child(spec: Spec, conn: Connection) -> None:
    try:
        conn.send(("ok", asdict(measure(spec))))
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        conn.close()


def measure_in_child(spec: Spec) -> Measurement:
    """Run one measurement in a fresh (spawned, non-daemon) process and return it."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(spec, sender), name=f"bench-{spec.kind}")
    process.start()
    sender.close()
    try:
        status, payload = receiver.recv()
    except EOFError:
        status, payload = "error", f"the {spec.kind} process died (exit {process.exitcode})"
    process.join()
    if status != "ok":
        raise RuntimeError(f"{spec.kind}: {payload}")
    return Measurement(**payload)
