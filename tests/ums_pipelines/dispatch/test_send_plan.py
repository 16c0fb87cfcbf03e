"""A job's send plan in the dispatcher: nothing sent outside its window or after its
content expired, and its own pace held across every sender."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ums_pipelines.dispatch.runner import Dispatcher, DispatchResult
from ums_pipelines.jobs import SendPlan
from ums_pipelines.store.models import Job


def run(bank: Any, job_id: str, seconds: float = 120) -> DispatchResult:
    return asyncio.run(Dispatcher(bank.store, bank.settings).run_job(job_id, seconds))


def sms_job(bank: Any, n: int, plan: SendPlan) -> str:
    for i in range(n):
        bank.add_customer(f"P{i:04d}", phone=f"010{30000000 + i:08d}")
    return str(bank.targeted(routes={"sms": ["sms"]}, plan=plan))


@pytest.mark.parametrize(
    ("plan", "code", "reason"),
    [
        (
            SendPlan(must_end_by=datetime.now(UTC) - timedelta(minutes=1)),
            "E-WINDOW",
            "send window ended",
        ),
        (
            SendPlan(content_valid_until=datetime.now(UTC) - timedelta(minutes=1)),
            "E-CONTENT-EXPIRED",
            "content validity ended",
        ),
    ],
)
def test_nothing_is_sent_late_and_every_target_is_accounted(
    sim_bank: Any, ledger_summary: Any, plan: SendPlan, code: str, reason: str
) -> None:
    job_id = sms_job(sim_bank, 12, plan)
    result = run(sim_bank, job_id)
    assert result.terminal
    rows = sim_bank.messages(job_id)
    assert len(rows) == 12
    assert {(m.state, m.error_code) for m in rows} == {("expired", code)}
    assert all(m.submitted_at is None for m in rows)
    assert ledger_summary(f"{job_id}.").get("sms", {}).get("accepted", 0) == 0
    with sim_bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.stop_reason and reason in job.stop_reason


def test_not_before_holds_the_job_back(sim_bank: Any, ledger_summary: Any) -> None:
    plan = SendPlan(not_before=datetime.now(UTC) + timedelta(hours=1))
    job_id = sms_job(sim_bank, 5, plan)
    result = run(sim_bank, job_id, seconds=1.5)
    assert not result.terminal and result.status == "deadline"
    assert {m.state for m in sim_bank.messages(job_id)} == {"queued"}
    assert ledger_summary(f"{job_id}.").get("sms", {}).get("accepted", 0) == 0


def test_job_pace_holds_in_every_second(sim_bank: Any, gateway: Any) -> None:
    job_id = sms_job(sim_bank, 45, SendPlan(pace_per_s=15))
    result = run(sim_bank, job_id)
    assert result.terminal
    rate = httpx.get(
        f"{gateway.base_url}/ledger/v1/rate",
        params={"channel": "sms", "window_ms": 1000, "keyPrefix": f"{job_id}."},
        timeout=10,
    ).json()
    assert rate["total"] == 45
    # GCRA bound: rate + burst (0 below 50/s), one more in a closed window.
    assert rate["maxInWindow"] <= 16


def test_validity_cut_after_the_rows_were_written_stops_them(
    sim_bank: Any, ledger_summary: Any
) -> None:
    """Compliance ends a content's validity while its job waits: the job row is the truth."""
    plan = SendPlan(not_before=datetime.now(UTC) + timedelta(hours=1))
    job_id = sms_job(sim_bank, 6, plan)
    run(sim_bank, job_id, seconds=1.0)  # rows written, held back by not_before
    with sim_bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.content_valid_until = datetime.now(UTC) - timedelta(seconds=1)
    result = run(sim_bank, job_id)
    assert result.terminal
    assert {(m.state, m.error_code) for m in sim_bank.messages(job_id)} == {
        ("expired", "E-CONTENT-EXPIRED")
    }
    assert ledger_summary(f"{job_id}.").get("sms", {}).get("accepted", 0) == 0
