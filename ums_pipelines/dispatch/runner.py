"""Parallel channel senders for one job, run until every message of the job is terminal."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from ums_pipelines import audit
from ums_pipelines.channels.providers import (
    AlimTalkAdapter,
    FcmAdapter,
    ProviderAdapter,
    SmsRelayAdapter,
    SmtpAdapter,
)
from ums_pipelines.dispatch.outbox import Claimed, SendOutcome, claim, record_outcomes
from ums_pipelines.dispatch.receipts import poll_receipts
from ums_pipelines.lanes import CHANNELS, TERMINAL_STATES
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, utcnow
from ums_pipelines.store.models import Job, Message

__all__ = ["DispatchResult", "Dispatcher", "build_adapters", "job_state_counts"]

Progress = Callable[[str, int], None]


@dataclass
class DispatchResult:
    job_id: str
    submitted: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    rounds: int = 0
    terminal: bool = False
    seconds: float = 0.0

    @property
    def in_flight(self) -> int:
        return sum(n for s, n in self.states.items() if s not in TERMINAL_STATES)


def build_adapters(client: httpx.AsyncClient, settings: Settings) -> dict[str, ProviderAdapter]:
    url, token = settings.gateway_url, settings.gateway_token
    return {
        "sms": SmsRelayAdapter(client, url, token),
        "alimtalk": AlimTalkAdapter(client, url, token, sender_key="ums-bank"),
        "push": FcmAdapter(client, url, token, project="ums-bank"),
        "email": SmtpAdapter(settings.smtp_host, settings.smtp_port, "noreply@bank.example"),
    }


def job_state_counts(store: Store, job_id: str) -> dict[str, int]:
    with store.session() as session:
        rows = session.execute(
            select(Message.state, func.count())
            .where(Message.job_id == job_id)
            .group_by(Message.state)
        ).all()
    return {state: int(n) for state, n in rows}


class Dispatcher:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        owner: str | None = None,
        lease: timedelta = timedelta(seconds=120),
    ) -> None:
        self.store = store
        self.settings = settings
        self.owner = owner or f"dispatch-{uuid.uuid4().hex[:12]}"
        self.lease = lease

    async def _worker(
        self,
        channel: str,
        adapter: ProviderAdapter,
        job_id: str,
        sent: Counter[str],
        progress: Progress | None,
    ) -> None:
        while True:
            batch = await asyncio.to_thread(self._claim, channel, adapter.batch_size, job_id)
            if not batch:
                return
            outcomes = await adapter.send(batch)
            await asyncio.to_thread(self._record, outcomes)
            accepted = sum(o.status == "accepted" for o in outcomes)
            sent[channel] += accepted
            if progress:
                progress(channel, len(outcomes))

    def _claim(self, channel: str, limit: int, job_id: str) -> list[Claimed]:
        with self.store.session() as session:
            return list(claim(session, channel, self.owner, limit, self.lease, job_id))

    def _record(self, outcomes: list[SendOutcome]) -> None:
        with self.store.session() as session:
            record_outcomes(session, self.settings, self.owner, outcomes)

    async def run_job(
        self, job_id: str, deadline_seconds: float = 900.0, progress: Progress | None = None
    ) -> DispatchResult:
        started = time.monotonic()
        result = DispatchResult(job_id)
        sent: Counter[str] = Counter()
        limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
        async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
            adapters = build_adapters(client, self.settings)
            while True:
                result.rounds += 1
                await asyncio.gather(
                    *(
                        self._worker(channel, adapters[channel], job_id, sent, progress)
                        for channel in CHANNELS
                        for _ in range(adapters[channel].concurrency)
                    )
                )
                receipts = await poll_receipts(self.store, self.settings, client)
                result.states = await asyncio.to_thread(job_state_counts, self.store, job_id)
                if result.in_flight == 0:
                    result.terminal = True
                    break
                if time.monotonic() - started > deadline_seconds:
                    break
                if receipts.applied == 0:
                    # Waiting for receipts or for retry back-off; polling harder gains nothing.
                    await asyncio.sleep(0.2)
        result.submitted = dict(sent)
        result.seconds = time.monotonic() - started
        if result.terminal:
            await asyncio.to_thread(self._finish, job_id, result)
        return result

    def _finish(self, job_id: str, result: DispatchResult) -> None:
        with self.store.session() as session:
            job = session.get(Job, job_id)
            if job is None or job.status == "done":
                return
            job.status = "done"
            job.updated_at = utcnow()
            audit.record(session, "ums", "job.done", "job", job_id, states=result.states)
