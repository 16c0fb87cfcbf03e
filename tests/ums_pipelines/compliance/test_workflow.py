"""The job workflow: one table of statuses and moves, an illegal move refused naming
both ends, each move in the audit log with from and to, and the control paths using it."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select

from ums_pipelines.compliance.workflow import (
    ACTION,
    CLOSED,
    STATUSES,
    TRANSITIONS,
    WorkflowError,
    allowed,
    transition,
)
from ums_pipelines.dispatch import control
from ums_pipelines.store.models import AuditLog, Job


def moves(bank: Any, job_id: str) -> list[tuple[str, str, str]]:
    with bank.store.session() as session:
        rows = session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_id == job_id, AuditLog.action == ACTION)
            .order_by(AuditLog.id)
        )
        return [(r.actor, r.detail["from"], r.detail["to"]) for r in rows]


def test_the_table_names_every_target_and_closes_cancelled_and_stopped() -> None:
    for current, nexts in TRANSITIONS.items():
        assert nexts <= set(STATUSES), current
        assert current not in nexts, current  # a move to the same status is no move
    assert set(CLOSED) == {"cancelled", "stopped"}
    width = Job.__table__.c.status.type.length
    assert all(len(s) <= width for s in STATUSES)  # each fits the column
    path = ["registered", "targeted", "pending_approval", "approved", "scheduled"]
    path += ["dispatching", "done"]
    for a, b in pairwise(path):
        assert allowed(a, b), (a, b)
    assert allowed("pending_approval", "rejected") and allowed("rejected", "targeted")
    assert not allowed("cancelled", "dispatching")
    assert not allowed("rejected", "dispatching")  # a rejected job is fixed and decided again
    assert not allowed("done", "paused")


def test_a_move_is_audited_and_an_illegal_one_refused(bank: Any) -> None:
    job_id = bank.register()
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert transition(session, job, "targeted", "ops") == "registered"
        assert transition(session, job, "targeted", "ops") == "targeted"  # no move, no entry
        transition(session, job, "pending_approval", "ops", reason="advertising")
        with pytest.raises(WorkflowError, match="cannot go from pending_approval to done"):
            transition(session, job, "done", "ops")
        with pytest.raises(WorkflowError, match="status: 'sent' is not one of registered"):
            transition(session, job, "sent", "ops")
        transition(session, job, "cancelled", "ops")
        with pytest.raises(WorkflowError, match="from cancelled: none, it is closed"):
            transition(session, job, "dispatching", "ops")
        assert job.status == "cancelled"
    assert moves(bank, job_id) == [
        ("ops", "registered", "targeted"),
        ("ops", "targeted", "pending_approval"),
        ("ops", "pending_approval", "cancelled"),
    ]
    with bank.store.session() as session:
        entry = session.scalars(
            select(AuditLog).where(AuditLog.action == ACTION).order_by(AuditLog.id).offset(1)
        ).first()
        assert entry is not None and entry.detail["reason"] == "advertising"


def test_targets_pause_resume_and_cancel_go_through_the_workflow(bank: Any) -> None:
    bank.add_customer("C1")
    job_id = bank.targeted()  # informational, 1 target: needs no approval
    control.pause(bank.store, job_id, "ops")
    assert control.resume(bank.store, job_id, "ops", bank.settings).status == "dispatching"
    control.cancel(bank.store, bank.settings, job_id, "ops")
    with pytest.raises(control.ControlError, match="is cancelled"):
        control.pause(bank.store, job_id, "ops")
    assert moves(bank, job_id) == [
        ("ums", "registered", "targeted"),
        ("ops", "targeted", "paused"),
        ("ops", "paused", "dispatching"),
        ("ops", "dispatching", "cancelled"),
    ]
