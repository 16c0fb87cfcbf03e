"""``job_progress`` (``ums job status``): what is left of a job after a crash or a pause
is counted exactly, and a restart sends exactly that, never a delivered message again."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from ums_pipelines.dispatch import control
from ums_pipelines.dispatch.bulk import claim_chunk, materialize_chunk, plan_chunks
from ums_pipelines.dispatch.progress import job_progress
from ums_pipelines.dispatch.runner import Dispatcher, DispatchResult
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Job, Message
from ums_pipelines.store.sendplane import JobChunk
from ums_pipelines.targets import read_targets


def chunked(bank: Any, n: int, chunk: int = 10, pace: float | None = 20) -> str:
    bank.add_mixed(n)
    job_id = str(bank.targeted())
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.chunk_size, job.pace_per_s = chunk, pace
    plan_chunks(bank.store, job_id)
    return job_id


def run(bank: Any, job_id: str, deadline: float = 60, act: Any = None) -> DispatchResult:
    batches = 0

    def progress(channel: str, n: int) -> None:
        nonlocal batches
        batches += 1
        if act is not None and batches == 1:
            act()

    dispatcher = Dispatcher(bank.store, bank.settings, tick=0.05)
    return asyncio.run(dispatcher.run_job(job_id, deadline, progress=progress))


DEAD = "dead-sender"


def die_while_writing(bank: Any, job_id: str) -> int:
    """What a SIGKILLed sender leaves: one split written to the outbox claimed under its
    lease (sent or not, nobody knows), and one split claimed but not written yet."""
    lease = timedelta(minutes=1)
    with bank.store.session() as session:
        first = claim_chunk(session, job_id, DEAD, lease, utcnow())
    assert first is not None
    rows = materialize_chunk(
        bank.store, bank.settings, job_id, first, DEAD, lease, read_targets(bank.settings, job_id)
    )
    with bank.store.session() as session:
        assert claim_chunk(session, job_id, DEAD, lease, utcnow()) is not None
    return len(rows)


def leases_end(bank: Any, job_id: str) -> None:
    past = utcnow() - timedelta(seconds=1)
    with bank.store.session() as session:
        session.execute(
            update(Message)
            .where(Message.job_id == job_id, Message.lease_owner == DEAD)
            .values(lease_expires_at=past)
        )
        session.execute(
            update(JobChunk)
            .where(JobChunk.job_id == job_id, JobChunk.lease_owner == DEAD)
            .values(lease_expires_at=past)
        )


def progress_of(bank: Any, job_id: str, **kw: Any) -> Any:
    with bank.store.session() as session:
        return job_progress(session, job_id, **kw)


def test_a_crashed_run_is_counted_exactly_and_the_restart_sends_only_that(
    sim_bank: Any, ledger_rows: Any
) -> None:
    bank = sim_bank
    job_id = chunked(bank, 60, pace=10)
    orphans = die_while_writing(bank, job_id)
    stopped = run(bank, job_id, deadline=1.5)  # stops unfinished, resumable
    assert stopped.status not in ("done", "partial")
    leases_end(bank, job_id)

    p = progress_of(bank, job_id)
    left = {i.kind: i.count for i in p.left}
    messages = bank.messages(job_id)
    states = Counter(m.state for m in messages if m.leg == 0)
    with bank.store.session() as session:
        unwritten = sum(
            c.size
            for c in session.scalars(select(JobChunk).where(JobChunk.job_id == job_id))
            if c.state != "enqueued"
        )
    assert p.rows_by_state == dict(sorted(states.items()))
    assert left.get("unwritten", 0) + left.get("unwritten_orphaned", 0) == unwritten > 0
    assert left.get("orphaned", 0) == sum(m.state == "claimed" for m in messages)
    assert left.get("queued", 0) + left.get("waiting", 0) == sum(
        m.state == "queued" for m in messages
    )
    assert left["orphaned"] == orphans == 10 and "in_flight" not in left  # nobody is alive
    assert left["unwritten_orphaned"] == 10
    # Every target is somewhere: unwritten, or a customer with rows.
    assert unwritten + len({m.customer_id for m in messages}) == p.targets == 60
    assert sum(p.customers.values()) == len({m.customer_id for m in messages})
    assert p.open_items > 0 and p.next_step.startswith(f"ums dispatch {job_id}")

    sent_before = Counter(r["clientKey"] for r in ledger_rows(f"{job_id}."))
    delivered_before = {m.idempotency_key for m in messages if m.state == "delivered"}

    assert run(bank, job_id).status == "done"

    after = Counter(r["clientKey"] for r in ledger_rows(f"{job_id}."))
    assert max(after.values()) == 1  # the simulator saw no key twice
    new_keys = set(after) - set(sent_before)
    assert not new_keys & delivered_before
    final = bank.messages(job_id)
    by_key = {m.idempotency_key: m for m in final}
    # The restart sent first legs to exactly the customers left open or unwritten.
    unsent_open = {
        m.idempotency_key
        for m in messages
        if m.state in ("queued", "held", "claimed") and m.idempotency_key not in sent_before
    }
    before_keys = {m.idempotency_key for m in messages}
    written_after = {m.idempotency_key for m in final} - before_keys
    # The restart sent what was left, and nothing else: the open rows not yet sent, and
    # the rows of the unwritten splits (and the fallback legs both lead to).
    assert unsent_open <= new_keys <= unsent_open | written_after
    assert len({by_key[k].customer_id for k in written_after if by_key[k].leg == 0}) == unwritten
    done = progress_of(bank, job_id)
    assert done.open_items == 0 and done.status == "done"
    assert done.customers["in_progress"] == 0
    assert sum(done.customers.values()) == 60


def test_a_paused_job_shows_its_held_rows_and_says_resume(sim_bank: Any) -> None:
    bank = sim_bank
    job_id = chunked(bank, 40)
    paused = run(bank, job_id, act=lambda: control.pause(bank.store, job_id, "ops"))
    assert paused.status == "paused"
    p = progress_of(bank, job_id)
    held = sum(m.state == "held" for m in bank.messages(job_id))
    assert held > 0
    assert {i.kind: i.count for i in p.left}.get("held") == held
    assert p.status == "paused" and p.next_step.startswith(f"ums job resume {job_id}")


def test_a_live_sender_is_waited_for(sim_bank: Any) -> None:
    bank = sim_bank
    job_id = chunked(bank, 30, pace=10)
    die_while_writing(bank, job_id)  # its lease still runs: it may be alive
    p = progress_of(bank, job_id)
    left = {i.kind: i.count for i in p.left}
    assert left == {"unwritten": 10, "being_written": 10, "in_flight": 10}
    assert p.next_step.startswith("wait")
    # The same rows, looked at after the lease: orphaned, and a restart takes them.
    p = progress_of(bank, job_id, now=utcnow() + timedelta(minutes=2))
    left = {i.kind: i.count for i in p.left}
    assert left == {"unwritten": 10, "unwritten_orphaned": 10, "orphaned": 10}
    assert p.next_step.startswith(f"ums dispatch {job_id}")


def test_an_unknown_job_is_a_key_error(bank: Any) -> None:
    with pytest.raises(KeyError), bank.store.session() as session:
        job_progress(session, "no-such-job")
