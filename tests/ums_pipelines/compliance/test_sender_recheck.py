"""The sender checked again at dispatch: a number deactivated or expired after the job was
registered stops the job with the registry's reason, and nothing is sent."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ums_pipelines.compliance import senders
from ums_pipelines.compliance.approvals import check_job
from ums_pipelines.compliance.sender_recheck import ERROR_CODE, SenderStopped
from ums_pipelines.dispatch import control
from ums_pipelines.dispatch.outbox import enqueue_job
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import AuditLog, Job, SenderNumber

SENDER = "15881234"  # the Bank fixture's number


def job_row(bank: Any, job_id: str) -> Job:
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_a_deactivated_number_stops_the_job_at_dispatch(bank: Any) -> None:
    bank.add_customer("C1")
    job_id = bank.targeted()
    check_job(bank.store, bank.settings, job_id)  # usable: passes
    with bank.store.session() as session:
        senders.deactivate(session, "number", SENDER, "ops")
    with pytest.raises(SenderStopped, match=f"job {job_id} is stopped: .*not active"):
        asyncio.run(Dispatcher(bank.store, bank.settings).run_job(job_id, 30))
    job = job_row(bank, job_id)
    assert job.status == "stopped" and job.stop_reason is not None
    assert "not active (deactivated)" in job.stop_reason
    assert bank.messages(job_id) == []
    # Stopped for good: a later run sends nothing and says so.
    again = asyncio.run(Dispatcher(bank.store, bank.settings).run_job(job_id, 30))
    assert again.status == "stopped"
    with bank.store.session() as session:
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "job.stopped")).one()
        assert entry.entity_id == job_id and "not active" in entry.detail["reason"]
        moved = session.scalars(
            select(AuditLog).where(AuditLog.action == "job.status").order_by(AuditLog.id.desc())
        ).first()
        assert moved is not None and (moved.detail["from"], moved.detail["to"]) == (
            "targeted", "stopped",
        )  # fmt: skip


def test_an_expired_number_stops_a_paused_job_and_cancels_its_held_rows(bank: Any) -> None:
    for i in range(3):
        bank.add_customer(f"C{i}", phone=f"010{40000000 + i:08d}")
    job_id = bank.targeted()
    enqueue_job(bank.store, bank.settings, job_id)
    control.pause(bank.store, job_id, "ops")
    with bank.store.session() as session:
        number = session.scalars(select(SenderNumber).where(SenderNumber.number == SENDER)).one()
        number.valid_until = utcnow() - timedelta(days=1)
    with pytest.raises(control.ControlError, match=r"stays paused: .* is stopped: .*expired"):
        control.resume(bank.store, job_id, "ops", bank.settings)
    assert job_row(bank, job_id).status == "stopped"
    rows = bank.messages(job_id)
    assert rows and all((m.state, m.error_code) == ("cancelled", ERROR_CODE) for m in rows)
