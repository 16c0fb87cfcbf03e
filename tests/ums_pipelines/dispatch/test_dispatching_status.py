"""A bulk job is `dispatching` while its dispatcher sends, so what watches running jobs
sees it — among them the rule that a job whose approval is voided while it sends is
paused at once (compliance/approvals.py ``_hold``)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from sqlalchemy import select

from ums_pipelines.compliance.approvals import void_approvals
from ums_pipelines.dispatch.bulk import plan_chunks
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.store.models import AuditLog, Job


def test_a_voided_approval_pauses_the_job_while_it_sends(sim_bank: Any) -> None:
    bank = sim_bank
    # Every job needs the head's approval at this threshold: the void takes it away.
    bank.settings = bank.settings.model_copy(update={"approval_threshold": 0})
    bank.add_mixed(60)
    job_id = bank.targeted()
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "approved"
        job.chunk_size, job.pace_per_s = 10, 20
    plan_chunks(bank.store, job_id)
    seen: list[str] = []

    def progress(channel: str, n: int) -> None:
        with bank.store.session() as session:
            job = session.get(Job, job_id)
            assert job is not None
            seen.append(job.status)
            if len(seen) == 1:
                void_approvals(session, job_id, "the list changed", settings=bank.settings)

    result = asyncio.run(
        Dispatcher(bank.store, bank.settings, tick=0.05).run_job(job_id, 60, progress=progress)
    )
    assert seen[0] == "dispatching"
    assert result.status == "paused"
    states = Counter(m.state for m in bank.messages(job_id))
    assert states["held"] > 0 and states["queued"] == 0
    with bank.store.session() as session:
        paused = session.scalars(
            select(AuditLog).where(AuditLog.entity_id == job_id, AuditLog.action == "job.paused")
        ).one()
        assert paused.detail["was"] == "dispatching"
        moves = [
            (a.detail["from"], a.detail["to"])
            for a in session.scalars(
                select(AuditLog)
                .where(AuditLog.entity_id == job_id, AuditLog.action == "job.status")
                .order_by(AuditLog.id)
            )
        ]
    assert ("approved", "dispatching") in moves and moves[-1] == ("dispatching", "paused")
