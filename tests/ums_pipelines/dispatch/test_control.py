"""Pause, resume, cancel and resend-failed: nothing delivered is ever sent again, and every
target of the job ends accounted for."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ums_pipelines.audit import verify_chain
from ums_pipelines.dispatch import control
from ums_pipelines.dispatch.bulk import plan_chunks
from ums_pipelines.dispatch.receipts import poll_receipts
from ums_pipelines.dispatch.runner import Dispatcher, DispatchResult
from ums_pipelines.lanes import TERMINAL_STATES
from ums_pipelines.store.models import AuditLog, Job
from ums_pipelines.targets import read_targets


def small_chunks(
    bank: Any, n: int, chunk: int = 10, pace: float | None = None, **register: Any
) -> str:
    bank.add_mixed(n)
    job_id = str(bank.targeted(**register))
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.chunk_size = chunk
        job.pace_per_s = pace
    plan_chunks(bank.store, job_id)
    return job_id


def run(bank: Any, job_id: str, act: Any = None, after: int = 1) -> DispatchResult:
    """Run a dispatcher; ``act()`` is called once after ``after`` sent batches."""
    batches = 0

    def progress(channel: str, n: int) -> None:
        nonlocal batches
        batches += 1
        if act is not None and batches == after:
            act()

    dispatcher = Dispatcher(bank.store, bank.settings, tick=0.05)
    return asyncio.run(dispatcher.run_job(job_id, 60, progress=progress))


async def receipts(bank: Any) -> None:
    async with httpx.AsyncClient() as client:
        await poll_receipts(bank.store, bank.settings, client)


def assert_once(bank: Any, job_id: str, rows: list[dict[str, Any]]) -> None:
    keys = Counter(r["clientKey"] for r in rows)
    assert keys and max(keys.values()) == 1
    sent = {m.idempotency_key for m in bank.messages(job_id) if m.submitted_at is not None}
    assert set(keys) == sent


def actions(bank: Any, job_id: str) -> list[str]:
    with bank.store.session() as session:
        verify_chain(session)
        return list(
            session.scalars(
                select(AuditLog.action)
                .where(AuditLog.entity_id == job_id, AuditLog.action.not_like("job.registered"))
                .where(AuditLog.action != "job.status")  # the workflow's moves
                .order_by(AuditLog.id)
            )
        )


def test_pause_holds_the_rest_and_resume_sends_it_once(sim_bank: Any, ledger_rows: Any) -> None:
    bank = sim_bank
    # Paced, so rows are still queued when the first batch returns: unpaced, the senders
    # could claim all 60 before the pause lands and leave nothing to hold.
    job_id = small_chunks(bank, 60, pace=20)
    paused = run(bank, job_id, lambda: control.pause(bank.store, job_id, "ops"))
    assert paused.status == "paused" and not paused.terminal
    states = Counter(m.state for m in bank.messages(job_id))
    assert states["queued"] == 0 and states["claimed"] == 0
    assert states["held"] > 0
    sent_before = {r["clientKey"] for r in ledger_rows(f"{job_id}.")}

    # A dispatcher started on a paused job sends nothing and writes new splits held.
    again = run(bank, job_id)
    assert again.status == "paused"
    assert {r["clientKey"] for r in ledger_rows(f"{job_id}.")} == sent_before
    held = sum(m.state == "held" for m in bank.messages(job_id))
    assert control.resume(bank.store, job_id, "ops").rows == held
    with pytest.raises(control.ControlError, match="not paused"):
        control.resume(bank.store, job_id, "ops")

    done = run(bank, job_id)
    assert done.status == "done"
    messages = bank.messages(job_id)
    assert all(m.state in TERMINAL_STATES for m in messages)
    assert {m.customer_id for m in messages} == set(
        read_targets(bank.settings, job_id)["customer_id"]
    )
    assert_once(bank, job_id, ledger_rows(f"{job_id}."))
    assert actions(bank, job_id)[-3:] == ["job.paused", "job.resumed", "job.done"]


def test_cancel_accounts_for_every_target_and_sends_nothing_more(
    sim_bank: Any, ledger_rows: Any
) -> None:
    bank = sim_bank
    job_id = small_chunks(bank, 80, pace=20)  # paced for the same reason as the pause test
    result = run(bank, job_id, lambda: control.cancel(bank.store, bank.settings, job_id, "ops"))
    assert result.status == "cancelled"
    # Sends already accepted finish by their receipts; nothing else is left in flight.
    assert {m.state for m in bank.messages(job_id)} <= TERMINAL_STATES | {"accepted"}
    while any(m.state == "accepted" for m in bank.messages(job_id)):
        asyncio.run(receipts(bank))
    messages = bank.messages(job_id)
    assert all(m.state in TERMINAL_STATES for m in messages)
    first = {m.customer_id for m in messages if m.leg == 0}
    assert first == set(read_targets(bank.settings, job_id)["customer_id"])
    cancelled = [m for m in messages if m.state == "cancelled"]
    assert cancelled and all(m.submitted_at is None for m in cancelled)
    assert all(m.error_code == "E-CANCELLED" for m in cancelled)
    rows = ledger_rows(f"{job_id}.")
    assert not {r["clientKey"] for r in rows} & {m.idempotency_key for m in cancelled}

    # Cancelled is final: no resume, no second cancel, and a dispatcher sends nothing.
    with pytest.raises(control.ControlError):
        control.resume(bank.store, job_id, "ops")
    with pytest.raises(control.ControlError):
        control.cancel(bank.store, bank.settings, job_id, "ops")
    assert run(bank, job_id).status == "cancelled"
    assert ledger_rows(f"{job_id}.") == rows
    assert_once(bank, job_id, rows)
    assert "job.cancelled" in actions(bank, job_id)


def test_cancel_before_any_send_writes_every_split_cancelled(sim_bank: Any) -> None:
    bank = sim_bank
    job_id = small_chunks(bank, 25, chunk=7)
    result = control.cancel(bank.store, bank.settings, job_id, "ops")
    assert result.detail == {"queued": 0, "splits": 25}
    messages = bank.messages(job_id)
    assert len(messages) == 25 and {m.state for m in messages} == {"cancelled"}


def test_resend_failed_never_touches_a_delivered_customer(sim_bank: Any, ledger_rows: Any) -> None:
    bank = sim_bank
    # SMS only, no fallback: the simulator's 20 % failures end chains failed. The routes
    # are the job's from the start: changed after targeting, the frozen chains kept their
    # fallbacks and now and then every customer was delivered by some leg.
    sms_only = {k: ["sms"] for k in ("sms", "alimtalk", "push", "email")}
    job_id = small_chunks(bank, 60, routes=sms_only)
    assert run(bank, job_id).status == "done"
    before = bank.messages(job_id)
    delivered = {m.customer_id for m in before if m.state == "delivered"}
    failed = {m.customer_id for m in before} - delivered
    assert delivered and failed
    rows_before = ledger_rows(f"{job_id}.")

    result = control.resend_failed(bank.store, bank.settings, job_id, "ops")
    assert result.rows == len(failed)
    new = [m for m in bank.messages(job_id) if m.send_round == 1]
    assert {m.customer_id for m in new} == failed
    assert all(m.idempotency_key.endswith(".r1") and m.leg == 0 for m in new)

    assert run(bank, job_id).status == "done"
    rows = ledger_rows(f"{job_id}.")
    assert_once(bank, job_id, rows)
    by_key = {m.idempotency_key: m for m in bank.messages(job_id)}
    resent = [by_key[r["clientKey"]] for r in rows if r not in rows_before]
    assert resent and {m.customer_id for m in resent} <= failed
    # A second resend only reaches those still not delivered.
    still = failed - {m.customer_id for m in bank.messages(job_id) if m.state == "delivered"}
    assert control.resend_failed(bank.store, bank.settings, job_id, "ops").rows == len(still)
    assert actions(bank, job_id).count("job.resend_failed") == 2


def test_resend_failed_waits_for_messages_in_flight(sim_bank: Any) -> None:
    bank = sim_bank
    job_id = small_chunks(bank, 5)
    run(bank, job_id, lambda: control.pause(bank.store, job_id, "ops"))
    with pytest.raises(control.ControlError, match="resume"):
        control.resend_failed(bank.store, bank.settings, job_id, "ops")
    control.resume(bank.store, job_id, "ops")
    if any(m.state not in TERMINAL_STATES for m in bank.messages(job_id)):
        with pytest.raises(control.ControlError, match="in flight"):
            control.resend_failed(bank.store, bank.settings, job_id, "ops")
    with pytest.raises(control.ControlError):
        control.pause(bank.store, "no-such-job", "ops")


def test_a_paused_standing_job_resumes_standing(sim_bank: Any) -> None:
    """Real-time intake only feeds standing jobs: resume must not turn one into a bulk job."""
    from ums_pipelines.dispatch.standing import standing_job

    sim_bank.register(template_code="rt-notice")
    job_id = standing_job(sim_bank.store, "rt-notice")
    control.pause(sim_bank.store, job_id, actor="ops")
    result = control.resume(sim_bank.store, job_id, actor="ops")
    assert result.status == "standing"
    with sim_bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "standing"
