"""Store states the asset, check and sensor tests build on (loaded by path from conftests)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from ums_pipelines.customers import sync_inbox
from ums_pipelines.demo import DEMO_JOB_ID, register_demo_job
from ums_pipelines.demo_data import write_customer_file
from ums_pipelines.dispatch.outbox import claim, enqueue_job, record_outcomes
from ums_pipelines.dispatch.runner import build_adapters
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.targets import extract_targets

__all__ = ["DEMO_JOB_ID", "enqueue_small_job", "register_small_job", "submit_without_receipts"]


def register_small_job(store: Store, settings: Settings, customers: int = 30) -> str:
    """Synthetic customers through the change-file path, and the demo's job registered."""
    write_customer_file(settings.customer_inbox / "customers.csv", customers)
    report = sync_inbox(store, settings)
    assert report.rows_applied == customers
    register_demo_job(store)
    return DEMO_JOB_ID


def enqueue_small_job(store: Store, settings: Settings, customers: int = 30) -> tuple[str, int]:
    """The job's targets frozen and its first legs in the outbox (nothing sent)."""
    job_id = register_small_job(store, settings, customers)
    extract_targets(store, settings, job_id)
    enqueued = enqueue_job(store, settings, job_id)
    return job_id, enqueued.created


def submit_without_receipts(store: Store, settings: Settings, job_id: str) -> int:
    """Send every queued message once, like a sender that crashed before polling receipts."""

    async def _send() -> int:
        accepted = 0
        async with httpx.AsyncClient(timeout=30.0) as client:
            for channel, adapter in build_adapters(client, settings).items():
                while True:
                    with store.session() as session:
                        batch = claim(session, channel, "test", 1000, timedelta(seconds=60), job_id)
                    if not batch:
                        break
                    outcomes = await adapter.send(batch)
                    with store.session() as session:
                        record_outcomes(session, settings, "test", outcomes)
                    accepted += sum(o.status == "accepted" for o in outcomes)
        return accepted

    return asyncio.run(_send())
