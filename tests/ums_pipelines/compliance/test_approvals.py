"""Four-eyes approval scenarios (issue 6, Done when 2): a self-approval is refused; an
edit after approval voids it; a bulk job without the department head's approval never
sends. Each runs on SQLite and PostgreSQL; the sends go to the gateway simulator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from ums_pipelines.compliance.approvals import (
    ApprovalError,
    approve_job,
    check_job,
    reject_job,
    void_approvals,
    void_stale,
)
from ums_pipelines.compliance.gate import (
    ApprovalRequired,
    approval_state,
    fingerprint,
    needs_approval,
    valid_approval,
)
from ums_pipelines.compliance.roles import RoleError, grant_role
from ums_pipelines.dispatch.bulk import claim_chunk, materialize_chunk, plan_chunks
from ums_pipelines.dispatch.control import ControlError, cancel, pause, resume
from ums_pipelines.dispatch.outbox import enqueue_job
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.jobs import ChannelVariant, SendPlan
from ums_pipelines.lanes import Purpose
from ums_pipelines.store.compliance import Approval
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import AuditLog, Job, Message
from ums_pipelines.targets import extract_targets, targets_path

# Advertising jobs are sent here: the night rules are moved hours away from now.
pytestmark = pytest.mark.usefixtures("ads_allowed_now")

AD = Purpose.ADVERTISING
ROUTES = {"sms": ["sms"]}  # SMS only: the simulator's failures fall back nowhere
# Lawful advertising text: the (광고) label first, the free 080 opt-out.
AD_SMS = (ChannelVariant("sms", "(광고)UMS은행 {{ name }}님 이벤트 무료수신거부 0801234567"),)


def ad_job(bank: Any, customers: int = 3, **kwargs: Any) -> str:
    """An advertising job of ``customers`` SMS customers (with ad consent), targeted, not
    approved. Its author is "test" (the Bank fixture's actor)."""
    for i in range(customers):
        bank.add_customer(f"A{i}", phone=f"010{30000000 + i:08d}", purpose="ad")
    return str(
        bank.targeted(
            purpose=AD,
            template_code="ad-notice",
            variants=AD_SMS,
            routes=ROUTES,
            approve=False,
            **kwargs,
        )
    )


def head(bank: Any, user: str = "head", department: str = "test-dept") -> str:
    with bank.store.session() as session:
        grant_role(session, user, "approver", department, granted_by="admin")
    return user


def approve(bank: Any, job_id: str, approver: str) -> Approval:
    with bank.store.session() as session:
        return approve_job(session, job_id, approver)


def audit_actions(bank: Any, job_id: str) -> list[str]:
    with bank.store.session() as session:
        return list(
            session.scalars(
                select(AuditLog.action)
                .where(AuditLog.entity_id == job_id, AuditLog.action != "job.status")
                .order_by(AuditLog.id)
            )
        )


def outbox_states(bank: Any, job_id: str) -> dict[str, int]:
    with bank.store.session() as session:
        rows = session.execute(
            select(Message.state, func.count()).where(Message.job_id == job_id).group_by("state")
        )
        return {state: int(n) for state, n in rows}


def dispatch(bank: Any, job_id: str) -> Any:
    return asyncio.run(Dispatcher(bank.store, bank.settings).run_job(job_id, 60))


def test_a_self_approval_is_refused(bank: Any) -> None:
    job_id = ad_job(bank)
    author = head(bank, "test")  # the author is a department head too: still refused
    with pytest.raises(ApprovalError, match="test is its author and cannot decide on it"):
        approve(bank, job_id, author)
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.created_by == "test"
        assert valid_approval(session, job) is None
        assert session.scalar(select(func.count()).select_from(Approval)) == 0
    with pytest.raises(ApprovalRequired, match=f"job {job_id} is awaiting_approval"):
        check_job(bank.store, bank.settings, job_id)


def test_an_approver_needs_the_role_in_the_jobs_department(bank: Any) -> None:
    job_id = ad_job(bank)
    with pytest.raises(RoleError, match="nobody does not hold the approver role"):
        approve(bank, job_id, "nobody")
    other = head(bank, "other-head", department="card-dept")
    with pytest.raises(RoleError, match="for department test-dept"):
        approve(bank, job_id, other)
    with bank.store.session() as session:
        # A reviewer of the department is not its head either.
        grant_role(session, "reviewer", "reviewer", "test-dept", granted_by="admin")
    with pytest.raises(RoleError):
        approve(bank, job_id, "reviewer")
    with bank.store.session() as session:
        grant_role(session, "cco", "approver", "*", granted_by="admin")  # every department
    row = approve(bank, job_id, "cco")
    assert (row.decision, row.decided_by, row.role) == ("approved", "cco", "approver")
    assert row.target_count == 3 and row.content_version == 1
    check_job(bank.store, bank.settings, job_id)  # passes now
    assert audit_actions(bank, job_id)[-1] == "job.approved"


def test_approval_needs_a_frozen_target_list(bank: Any) -> None:
    job_id = bank.register(purpose=AD, template_code="ad-notice", variants=AD_SMS, routes=ROUTES)
    with pytest.raises(ApprovalError, match="no frozen target list"):
        approve(bank, job_id, head(bank))
    with pytest.raises(ApprovalRequired, match="targets are not frozen yet"):
        check_job(bank.store, bank.settings, job_id)


def test_retargeting_with_another_count_voids_the_approval_and_nothing_is_written(
    bank: Any,
) -> None:
    job_id = ad_job(bank)
    approve(bank, job_id, head(bank))
    # The list is extracted again (the file removed, one more customer): 4, not 3.
    bank.add_customer("late", phone="01039999999", purpose="ad")
    targets_path(bank.settings, job_id).unlink()
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.target_count = None
    assert extract_targets(bank.store, bank.settings, job_id).targets == 4
    with pytest.raises(ApprovalRequired, match=r"target count 3 -> 4") as refused:
        enqueue_job(bank.store, bank.settings, job_id)
    assert refused.value.job_id == job_id and refused.value.status == "awaiting_approval"
    assert outbox_states(bank, job_id) == {}
    with bank.store.session() as session:
        (row,) = session.scalars(select(Approval)).all()
        assert row.voided_at is not None
        assert row.void_reason == "the job changed after approval: target count 3 -> 4"
    assert "approval.voided" in audit_actions(bank, job_id)
    approve(bank, job_id, "head")  # the head approves the new list: it may go
    assert enqueue_job(bank.store, bank.settings, job_id).created == 4


def test_an_edit_of_routes_voids_the_approval(bank: Any) -> None:
    job_id = ad_job(bank)
    approve(bank, job_id, head(bank))
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.routes = {"sms": ["alimtalk", "sms"]}
        assert void_stale(session, job, "routes edited by test", actor="test") == 1
        assert void_stale(session, job, "again") == 0  # nothing left to void
    state = _state(bank, job_id)
    assert not state.may_send and state.valid is None
    assert state.missing == "the approval by head was voided: routes edited by test"
    with pytest.raises(ApprovalRequired, match="was voided: routes edited by test"):
        dispatch(bank, job_id)
    assert outbox_states(bank, job_id) == {}


def test_an_edit_that_forgot_to_void_is_caught_at_send_time(
    sim_bank: Any, ledger_summary: Any
) -> None:
    job_id = ad_job(sim_bank)
    approve(sim_bank, job_id, head(sim_bank))
    with sim_bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.params = {"occasion": "new_year"}  # changed directly, no void
    with pytest.raises(ApprovalRequired, match="head was voided: the job changed after approval"):
        dispatch(sim_bank, job_id)
    assert outbox_states(sim_bank, job_id) == {}
    assert sum(c["accepted"] for c in ledger_summary(f"{job_id}.").values()) == 0
    with sim_bank.store.session() as session:
        (row,) = session.scalars(select(Approval)).all()
        # Voided on record by the send-time check, with what it could tell.
        assert row.void_reason == (
            "the job changed after approval: routes, sender, send window or values"
        )


def _state(bank: Any, job_id: str) -> Any:
    with bank.store.session() as session:
        return approval_state(session, bank.settings, job_id)


def test_a_bulk_job_over_the_threshold_without_the_heads_approval_never_sends(
    sim_bank: Any, ledger_summary: Any
) -> None:
    bank = sim_bank
    bank.settings = bank.settings.model_copy(update={"approval_threshold": 5})
    for i in range(8):
        bank.add_customer(f"B{i}", phone=f"010{40000000 + i:08d}")
    job_id = bank.targeted(routes=ROUTES, approve=False)  # informational, 8 > 5
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert needs_approval(job, bank.settings) == "8 targets, above the approval threshold of 5"
    with pytest.raises(ApprovalRequired, match="above the approval threshold") as refused:
        dispatch(bank, job_id)
    assert "no approval by the department head" in str(refused.value)
    # Twice: a second dispatcher is refused the same way; nothing reached the gateway.
    with pytest.raises(ApprovalRequired):
        dispatch(bank, job_id)
    assert sum(c["accepted"] for c in ledger_summary(f"{job_id}.").values()) == 0
    assert outbox_states(bank, job_id) == {}
    # Its author cannot unblock it; the department head can.
    with bank.store.session() as session:
        grant_role(session, "test", "approver", "test-dept", granted_by="admin")
    with pytest.raises(ApprovalError):
        approve(bank, job_id, "test")
    approve(bank, job_id, head(bank))
    result = dispatch(bank, job_id)
    assert result.terminal
    assert sum(c["accepted"] for c in ledger_summary(f"{job_id}.").values()) == 8
    assert sum(outbox_states(bank, job_id).values()) == 8


def test_under_the_threshold_an_informational_job_needs_no_approval(bank: Any) -> None:
    for i in range(3):
        bank.add_customer(f"I{i}", phone=f"010{50000000 + i:08d}")
    job_id = bank.targeted(routes=ROUTES, approve=False)
    assert _state(bank, job_id).needed is None
    assert enqueue_job(bank.store, bank.settings, job_id).created == 3


def test_a_rejection_names_a_listed_reason_and_voids_the_approval(bank: Any) -> None:
    job_id = ad_job(bank)
    approve(bank, job_id, head(bank))
    with bank.store.session() as session:
        assert session.get(Job, job_id).status == "approved"  # type: ignore[union-attr]
    second = head(bank, "deputy")
    with bank.store.session() as session:
        with pytest.raises(ValueError, match="reason: 'LATE' is not one of"):
            reject_job(session, job_id, second, "LATE")
        with pytest.raises(ValueError, match="note: a rejection for OTHER needs a note"):
            reject_job(session, job_id, second, "OTHER")
        row = reject_job(session, job_id, second, "AD_RULES", "no 080 opt-out")
    assert row.reason is not None and row.reason.startswith("AD_RULES: advertising rules")
    state = _state(bank, job_id)
    assert state.valid is None
    assert state.missing is not None and state.missing.startswith("rejected by deputy: AD_RULES")
    assert [d.decision for d in state.history] == ["rejected", "approved"]
    assert state.history[1].void_reason == "rejected by deputy (AD_RULES)"
    actions = audit_actions(bank, job_id)
    assert actions[-2:] == ["approval.voided", "job.rejected"]
    with bank.store.session() as session:
        assert session.get(Job, job_id).status == "rejected"  # type: ignore[union-attr]


def test_void_approvals_and_cancel_of_an_unapproved_job(bank: Any) -> None:
    job_id = ad_job(bank)
    approve(bank, job_id, head(bank))
    with bank.store.session() as session:
        with pytest.raises(ValueError, match="reason"):
            void_approvals(session, job_id, " ")
        assert void_approvals(session, job_id, "content recalled") == 1
    # Cancelling writes every target as a cancelled row: that sends nothing, so the
    # gate lets it through.
    result = cancel(bank.store, bank.settings, job_id, "test")
    assert result.status == "cancelled"
    assert outbox_states(bank, job_id) == {"cancelled": 3}
    with pytest.raises(ApprovalError, match="is cancelled"):
        approve(bank, job_id, "head")


def test_the_fixture_approves_advertising_jobs_as_the_head(bank: Any) -> None:
    for i in range(2):
        bank.add_customer(f"F{i}", phone=f"010{60000000 + i:08d}", purpose="ad")
    job_id = bank.targeted(purpose=AD, template_code="ad-notice", variants=AD_SMS, routes=ROUTES)
    state = _state(bank, job_id)
    assert state.may_send and state.valid is not None
    assert state.valid.decided_by == "test-head"


def test_the_fingerprint_survives_the_store_and_time_zones(bank: Any) -> None:
    """An approval of a job with a +09:00 send window still matches it when read back
    (UTC on the store, microseconds kept): no false void."""
    kst = timezone(timedelta(hours=9))
    start = datetime.now(kst).replace(microsecond=123456) + timedelta(days=1)
    plan = SendPlan(not_before=start, must_end_by=start + timedelta(hours=2))
    job_id = ad_job(bank, plan=plan)
    approve(bank, job_id, head(bank))
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert as_utc(job.not_before or start) == start  # the same instant
        kept = fingerprint(job)
        job.routes = dict(reversed(list(job.routes.items())))  # key order does not count
        assert fingerprint(job) == kept
    check_job(bank.store, bank.settings, job_id)
    with bank.store.session() as session:
        assert session.scalars(select(Approval.voided_at)).all() == [None]


def test_a_void_while_sending_holds_the_unsent_rows_until_approved_again(
    sim_bank: Any, ledger_summary: Any
) -> None:
    bank = sim_bank
    job_id = ad_job(bank)
    approve(bank, job_id, head(bank))
    assert enqueue_job(bank.store, bank.settings, job_id).created == 3  # queued, dispatching
    with bank.store.session() as session:
        voided = void_approvals(session, job_id, "content recalled", "ops", bank.settings)
        assert voided == 1
    assert outbox_states(bank, job_id) == {"held": 3}  # no sender, agent or not, claims them
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "paused"
    assert audit_actions(bank, job_id)[-2:] == ["approval.voided", "job.paused"]
    with pytest.raises(ApprovalRequired, match="voided: content recalled"):
        dispatch(bank, job_id)
    approve(bank, job_id, "head")
    assert resume(bank.store, job_id, "ops").status == "dispatching"
    assert dispatch(bank, job_id).terminal
    assert sum(c["accepted"] for c in ledger_summary(f"{job_id}.").values()) == 3


def test_a_paused_jobs_split_is_written_held_without_approval(bank: Any) -> None:
    job_id = ad_job(bank)
    pause(bank.store, job_id, "ops")
    plan_chunks(bank.store, job_id)
    lease = timedelta(minutes=1)
    with bank.store.session() as session:
        work = claim_chunk(session, job_id, "me", lease, datetime.now(UTC))
    assert work is not None
    assert materialize_chunk(bank.store, bank.settings, job_id, work, "me", lease) == []
    assert outbox_states(bank, job_id) == {"held": 3}
    # Resuming re-checks four-eyes: without an approval the job stays paused, held.
    with pytest.raises(ControlError, match=f"job {job_id} stays paused: .*awaiting_approval"):
        resume(bank.store, job_id, "ops", bank.settings)
    assert outbox_states(bank, job_id) == {"held": 3}
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "paused"
    approve(bank, job_id, head(bank))
    assert resume(bank.store, job_id, "ops", bank.settings).rows == 3
    assert outbox_states(bank, job_id) == {"queued": 3}
