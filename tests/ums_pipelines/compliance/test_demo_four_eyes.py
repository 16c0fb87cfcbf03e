"""The demo's four-eyes step: its author registers the job, the department head approves
the frozen list once, and a job above the threshold may then be dispatched."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ums_pipelines.compliance.approvals import check_job
from ums_pipelines.demo import DEMO_JOB_ID, register_demo_job
from ums_pipelines.demo_approval import approve_demo_job
from ums_pipelines.store.compliance import Approval


def test_the_demo_job_is_approved_by_its_head_once(bank: Any) -> None:
    for i in range(4):
        bank.add_customer(f"D{i}", phone=f"010{70000000 + i:08d}")
    settings = bank.settings.model_copy(update={"approval_threshold": 3})
    assert register_demo_job(bank.store)
    line = approve_demo_job(bank.store, settings)
    assert line == (
        f"four-eyes  {DEMO_JOB_ID}: by demo-author, approved by demo-head (digital-channel head),"
        " v1 x 4 targets; required: 4 targets, above the approval threshold of 3"
    )
    check_job(bank.store, settings, DEMO_JOB_ID)  # may be sent
    again = approve_demo_job(bank.store, bank.settings)
    assert again.endswith("; optional at this size")
    with bank.store.session() as session:
        assert len(session.scalars(select(Approval)).all()) == 1
