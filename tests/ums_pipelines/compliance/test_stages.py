"""Stage checks after target extraction (issue 6): the plan deviation, duplicate
recipients and the department budget are flagged into jobs.anomalies and the audit log;
a block stops approval and sending until it is fixed or an approver acknowledges it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from ums_pipelines.compliance import stages
from ums_pipelines.compliance.approvals import ApprovalError, approve_job, check_job
from ums_pipelines.compliance.budgets import month_spend, set_budget
from ums_pipelines.compliance.gate import StageBlocked, require_approved
from ums_pipelines.compliance.roles import RoleError, grant_role
from ums_pipelines.jobs import JobError, register_job
from ums_pipelines.settings import Settings
from ums_pipelines.store.models import AuditLog, Job, Message
from ums_pipelines.targets import extract_targets

SENDER = "15881234"  # the Bank fixture's registered number
SMS_ROUTES = {"sms": ["sms"]}
# The Bank's SMS variant is a short Hangul SMS: 9.9 KRW at the default price.
SMS_PRICE = Decimal("9.9")
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 12:00 KST, 2026-11


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


def customers(bank: Any, n: int, prefix: str = "S", *, phone_base: int = 40000000) -> None:
    for i in range(n):
        bank.add_customer(f"{prefix}{i:04d}", phone=f"010{phone_base + i:08d}")


def plan_job(bank: Any, job_id: str, planned: int | None, department: str = "test-dept") -> str:
    """A job registered with the author's planned count (the Bank registers the
    template and the sender number with a job of its own first)."""
    bank.register(f"seed-{job_id}")
    with bank.store.session() as session:
        register_job(
            session,
            job_id=job_id,
            name="안내",
            template_code="tx-notice",
            routes=SMS_ROUTES,
            sender_number=SENDER,
            department=department,
            actor="test",
            planned_count=planned,
        )
    return job_id


def job_of(bank: Any, job_id: str) -> Job:
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def checks_of(bank: Any, job_id: str) -> dict[str, str]:
    return {f["check"]: f["severity"] for f in job_of(bank, job_id).anomalies or []}


@pytest.mark.parametrize(
    ("planned", "actual", "expected"),
    [
        (100, 100, None),
        (100, 120, None),  # exactly 20 %: not above the warning line
        (100, 121, "warn"),
        (100, 79, "warn"),
        (100, 150, "warn"),  # exactly 50 %: a warning, not a block
        (100, 151, "block"),
        (100, 49, "block"),
        (10, 0, "block"),
        (None, 5, None),  # no plan, no check
    ],
)
def test_plan_deviation_thresholds(
    tmp_path: Path, planned: int | None, actual: int, expected: str | None
) -> None:
    finding = stages.plan_finding(planned, actual, Settings(home=tmp_path))
    assert (finding["severity"] if finding else None) == expected
    if finding:
        assert finding["check"] == "plan_deviation" and f"{planned:,} planned" in finding["detail"]


@pytest.mark.parametrize(("warn", "block", "expected"), [(0.05, 0.1, "block"), (0.1, 0.5, "warn")])
def test_plan_deviation_thresholds_are_settings(
    tmp_path: Path, warn: float, block: float, expected: str
) -> None:
    settings = Settings(home=tmp_path, plan_deviation_warn=warn, plan_deviation_block=block)
    finding = stages.plan_finding(100, 112, settings)
    assert finding is not None and finding["severity"] == expected


def test_register_job_refuses_a_bad_planned_count(bank: Any) -> None:
    bank.register("seed")
    with bank.store.session() as session, pytest.raises(JobError, match="planned_count: 0"):
        register_job(
            session,
            job_id="bad-plan",
            name="안내",
            template_code="tx-notice",
            routes=SMS_ROUTES,
            sender_number=SENDER,
            department="test-dept",
            actor="test",
            planned_count=0,
        )


def test_far_from_plan_blocks_until_replanned(bank: Any) -> None:
    customers(bank, 10)
    job_id = plan_job(bank, "plan-1", planned=30)
    assert extract_targets(bank.store, bank.settings, job_id).targets == 10
    job = job_of(bank, job_id)
    assert job.planned_count == 30
    assert checks_of(bank, job_id) == {"plan_deviation": "block"}
    # An informational job of 10 needs no approval, and still never sends.
    with pytest.raises(StageBlocked, match="plan_deviation: 10 targets against 30 planned"):
        check_job(bank.store, bank.settings, job_id)
    with bank.store.session() as session:
        entries = session.scalars(
            select(AuditLog).where(AuditLog.action == "job.checked", AuditLog.entity_id == job_id)
        ).all()
        assert [e.detail["findings"][0]["check"] for e in entries] == ["plan_deviation"]
        assert stages.replan(session, bank.settings, job_id, 11, "test") == []
    check_job(bank.store, bank.settings, job_id)  # fixed: it may send
    assert job_of(bank, job_id).anomalies is None


def test_a_warning_does_not_stop_the_job(bank: Any) -> None:
    customers(bank, 10)
    job_id = plan_job(bank, "plan-warn", planned=13)
    extract_targets(bank.store, bank.settings, job_id)
    assert checks_of(bank, job_id) == {"plan_deviation": "warn"}
    check_job(bank.store, bank.settings, job_id)


def test_duplicate_recipients_warn_with_masked_examples(bank: Any) -> None:
    # The warning is for a bank that keeps duplicates (by default they are suppressed).
    bank.settings.suppress_duplicate_recipients = False
    customers(bank, 2)
    for i in range(3):  # one family phone for three customers
        bank.add_customer(f"F{i}", phone="01077778888")
    job_id = plan_job(bank, "dups", planned=None)
    extract_targets(bank.store, bank.settings, job_id)
    (finding,) = job_of(bank, job_id).anomalies or []
    assert finding["check"] == "duplicate_recipients" and finding["severity"] == "warn"
    assert "1 contacts are shared by 3 customers" in finding["detail"]
    assert "8888" in finding["detail"] and "01077778888" not in finding["detail"]
    assert "7777" not in finding["detail"]
    check_job(bank.store, bank.settings, job_id)


def test_duplicates_count_the_first_channel_only(tmp_path: Path) -> None:
    finding = stages.duplicate_finding(["a@x.kr", "a@x.kr", None, None, "b@x.kr"])
    assert finding is not None and "1 contacts are shared by 2 customers" in finding["detail"]
    assert "a@x.kr" not in finding["detail"]
    assert stages.duplicate_finding(["a@x.kr", None, None]) is None


@pytest.mark.parametrize(("targets", "blocked"), [(10, False), (11, True)])
def test_budget_over_and_under(bank: Any, targets: int, blocked: bool) -> None:
    customers(bank, targets)
    with bank.store.session() as session:
        set_budget(session, "test-dept", "2026-11", 100, "finance")  # 10 SMS = 99 KRW
    job_id = plan_job(bank, f"budget-{targets}", planned=None)
    extract_targets(bank.store, bank.settings, job_id)
    assert checks_of(bank, job_id) == ({"budget": "block"} if blocked else {})
    if blocked:
        with pytest.raises(StageBlocked, match="budget: estimated 109 KRW"):
            check_job(bank.store, bank.settings, job_id)


def test_budget_counts_the_months_committed_and_spent(bank: Any) -> None:
    customers(bank, 5)
    with bank.store.session() as session:
        set_budget(session, "test-dept", "2026-11", 1000, "finance")
    first = plan_job(bank, "first", planned=None)
    extract_targets(bank.store, bank.settings, first)  # 5 SMS pending: 49.5 KRW committed
    with bank.store.session() as session:
        spend = month_spend(session, bank.settings, "test-dept", "2026-11")
        assert (spend.spent, spend.committed) == (0, 5 * SMS_PRICE)
        assert spend.remaining == Decimal(1000) - 5 * SMS_PRICE
        # Once it has messages, they count at their price, and its estimate no longer.
        session.add(delivered_message(first, Decimal("920")))
        spend = month_spend(session, bank.settings, "test-dept", "2026-11")
        assert (spend.spent, spend.committed, spend.remaining) == (920, 0, 80)
        other = month_spend(session, bank.settings, "other-dept", "2026-11")
        assert (other.budget, other.spent, other.committed) == (None, 0, 0)
    second = plan_job(bank, "second", planned=None)
    extract_targets(bank.store, bank.settings, second)  # 920 + 49.5 + 49.5 < 1000
    assert checks_of(bank, second) == {}
    third = plan_job(bank, "third", planned=None)
    extract_targets(bank.store, bank.settings, third)  # 920 + 49.5 (second) + 49.5 > 1000
    assert checks_of(bank, third) == {"budget": "block"}


def delivered_message(job_id: str, price: Decimal) -> Message:
    return Message(
        idempotency_key=f"{job_id}-spent",
        job_id=job_id,
        customer_id="S0000",
        channel="sms",
        message_type="LMS",
        provider="sim-sms",
        leg=0,
        chain=["sms"],
        priority=3,
        recipient="01040000000",
        body="본문",
        unit_price=price,
        state="delivered",
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize("required", [False, True])
def test_a_department_without_a_budget(bank: Any, required: bool) -> None:
    bank.settings = bank.settings.model_copy(update={"budget_required": required})
    customers(bank, 3)
    job_id = plan_job(bank, f"nobudget-{required}", planned=None)
    extract_targets(bank.store, bank.settings, job_id)
    assert checks_of(bank, job_id) == ({"budget": "block"} if required else {})


def test_acknowledgement_by_an_approver_lets_the_job_pass(bank: Any) -> None:
    customers(bank, 10)
    job_id = plan_job(bank, "ack", planned=100)
    extract_targets(bank.store, bank.settings, job_id)
    with bank.store.session() as session:
        grant_role(session, "head", "approver", "test-dept", granted_by="admin")
        grant_role(session, "test", "approver", "test-dept", granted_by="admin")
    with bank.store.session() as session:
        with pytest.raises(ApprovalError, match="blocked by its stage checks"):
            approve_job(session, job_id, "head")
        with pytest.raises(stages.StageError, match="test is its author"):
            stages.acknowledge(session, job_id, "plan_deviation", "test")
        with pytest.raises(RoleError, match="lee does not hold the approver role"):
            stages.acknowledge(session, job_id, "plan_deviation", "lee")
        with pytest.raises(stages.StageError, match="no block finding of check 'budget'"):
            stages.acknowledge(session, job_id, "budget", "head")
        with pytest.raises(stages.StageError, match="'cost' is not one of"):
            stages.acknowledge(session, job_id, "cost", "head")
        done = stages.acknowledge(session, job_id, "plan_deviation", "head", note="시범 발송")
        assert done["acknowledged_by"] == "head"
    check_job(bank.store, bank.settings, job_id)
    with bank.store.session() as session:
        (finding,) = job_of(bank, job_id).anomalies or []
        assert finding["acknowledged_by"] == "head" and finding["note"] == "시범 발송"
        assert stages.open_blocks(job_of(bank, job_id)) == []
        entry = session.scalars(
            select(AuditLog).where(AuditLog.action == "job.check_acknowledged")
        ).one()
        assert (entry.actor, entry.detail["check"]) == ("head", "plan_deviation")
        # A recheck makes new findings: the acknowledgement does not carry over.
        stages.recheck(session, bank.settings, job_id, "test")
    with pytest.raises(StageBlocked):
        check_job(bank.store, bank.settings, job_id)


def test_the_gate_refuses_a_blocked_job_before_its_approval(bank: Any) -> None:
    for i in range(3):
        bank.add_customer(f"AD{i}", phone=f"010{50000000 + i:08d}")
    job_id = plan_job(bank, "gate", planned=20)
    extract_targets(bank.store, bank.settings, job_id)
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        with pytest.raises(StageBlocked) as refused:
            require_approved(session, bank.settings, job)
    assert refused.value.missing == "plan_deviation"
    assert f"ums job checks {job_id} --acknowledge CHECK" in str(refused.value)
    assert bank.messages(job_id) == []
