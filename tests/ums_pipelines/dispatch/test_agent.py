"""The send agent in process: serves real-time requests against the gateway simulator,
declares silent agents dead and reaps their rows, releases its claims when stopped."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ums_pipelines.dispatch.agent import AgentConfig, start_agent
from ums_pipelines.dispatch.agents import list_agents, register_agent
from ums_pipelines.dispatch.claims import claim_rows
from ums_pipelines.dispatch.intake import request_latencies, submit
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Message
from ums_pipelines.store.sendplane import Agent as AgentRow

# The simulator is shared by every test of the session: a fresh caller per test keeps the
# wire keys (and so the ledger and the receipts) of one test apart from another's.
FAST = AgentConfig(lease_seconds=3, tick_s=0.1, receipts_every_s=0.3, inbox_every_s=0)


def test_agent_serves_requests_and_stops_cleanly(
    sim_bank: Any, ledger_summary: Any, ledger_rows: Any
) -> None:
    bank = sim_bank
    bank.add_mixed(12)
    bank.register()
    caller = f"core-{uuid.uuid4().hex[:8]}"

    async def scenario() -> list[Message]:
        agent, task = start_agent(bank.store, bank.settings, FAST)
        await asyncio.wait_for(agent.started.wait(), 10)
        answers = [
            await asyncio.to_thread(
                submit,
                bank.store,
                bank.settings,
                caller=caller,
                caller_key=f"a{i}",
                customer_id=f"C{i % 12:05d}",
                template_code="tx-notice",
                lane="urgent" if i % 3 == 0 else None,
            )
            for i in range(30)
        ]
        job_ids = {a.job_id for a in answers}
        for _ in range(200):
            rows = [m for j in job_ids for m in bank.messages(j)]
            if rows and all(m.submitted_at and m.state != "accepted" for m in rows):
                break
            await asyncio.sleep(0.1)
        agent.stop()
        await asyncio.wait_for(task, 15)
        assert agent.sent == sum(1 for m in rows if m.submitted_at)
        return rows

    rows = asyncio.run(scenario())
    assert {m.state for m in rows} <= {"delivered", "failed"}
    sent = Counter(m.idempotency_key for m in rows if m.submitted_at)
    ledger = [r for p in {m.job_id for m in rows} for r in ledger_rows(f"{p}.")]
    ledger = [r for r in ledger if r["clientKey"] in sent]
    assert Counter(r["clientKey"] for r in ledger) == sent  # every key once, none lost
    assert len(request_latencies(bank.store)) == 30
    [info] = list_agents(bank.store)
    assert info.state == "stopped" and info.sent == len(sent) and info.lanes == [0, 1, 2]


def test_a_silent_agent_is_declared_dead_and_its_rows_are_taken_over(
    sim_bank: Any, ledger_rows: Any
) -> None:
    bank = sim_bank
    bank.add_mixed(4)
    bank.register()
    caller = f"core-{uuid.uuid4().hex[:8]}"
    answers = [
        submit(
            bank.store,
            bank.settings,
            caller=caller,
            caller_key=f"d{i}",
            customer_id=f"C{i:05d}",
            template_code="tx-notice",
            chain=["sms"],
        )
        for i in range(4)
    ]
    # A ghost agent claimed every row and died: its heartbeat and leases are in the past.
    past = utcnow() - timedelta(seconds=10)
    register_agent(bank.store, "ghost", [0, 1, 2], ["sim-sms"], 3)
    with bank.store.session() as session:
        session.get_one(AgentRow, "ghost").heartbeat_at = past
        claimed = claim_rows(session, "sms", "ghost", 10, timedelta(seconds=3), past)
    assert len(claimed) == 4

    async def scenario() -> None:
        agent, task = start_agent(bank.store, bank.settings, FAST)
        for _ in range(100):
            with bank.store.session() as session:
                done = session.scalars(
                    select(Message).where(Message.submitted_at.is_not(None))
                ).all()
            if len(done) == 4:
                break
            await asyncio.sleep(0.1)
        agent.stop()
        await task

    asyncio.run(scenario())
    states = {a.agent_id: a.state for a in list_agents(bank.store)}
    assert states["ghost"] == "dead"
    with bank.store.session() as session:
        ours = set(session.scalars(select(Message.idempotency_key)))
    keys = [r["clientKey"] for r in ledger_rows(f"{answers[0].job_id}.") if r["clientKey"] in ours]
    assert len(keys) == len(set(keys)) == 4


def test_stopping_an_agent_hands_its_claims_back(bank: Any) -> None:
    """Rows an agent holds when it stops are queued again at once, not after the lease."""
    bank.add_customer("C1")
    bank.register()
    answer = submit(
        bank.store,
        bank.settings,
        caller="core",
        caller_key="s1",
        customer_id="C1",
        template_code="tx-notice",
    )

    async def scenario() -> str:
        # Nowhere to send to: the gateway port is closed, so the row stays claimed.
        settings = bank.settings.model_copy(update={"gateway_url": "http://127.0.0.1:9"})
        config = AgentConfig(lease_seconds=60, express_workers=1, inbox_every_s=0)
        agent, task = start_agent(bank.store, settings, config)
        await asyncio.wait_for(agent.started.wait(), 10)
        agent.stop()
        await task
        return agent.agent_id

    agent_id = asyncio.run(scenario())
    with bank.store.session() as session:
        m = session.get_one(Message, answer.message_id)
        assert m.state == "queued" and m.lease_owner is None
        assert session.get_one(AgentRow, agent_id).state == "stopped"


def test_agent_asks_the_provider_about_rows_whose_receipt_never_came(
    sim_bank: Any, ledger_rows: Any
) -> None:
    """A row left accepted with no final receipt (a lost receipt, or retries that ran out
    after a timeout) is settled by the agent's status query, as the provider's books say."""
    from sqlalchemy import delete, update

    from ums_pipelines.store.models import DeliveryEvent

    bank = sim_bank
    bank.add_mixed(6)
    bank.register()
    caller = f"core-{uuid.uuid4().hex[:8]}"
    cfg = AgentConfig(
        lease_seconds=3, tick_s=0.1, receipts_every_s=0.3, inbox_every_s=0, status_grace_s=1.0
    )

    async def wait_final(job_ids: set[str]) -> list[Message]:
        rows: list[Message] = []
        for _ in range(200):
            rows = [m for j in job_ids for m in bank.messages(j)]
            if rows and all(m.state in ("delivered", "failed") for m in rows):
                break
            await asyncio.sleep(0.1)
        return rows

    async def scenario() -> tuple[list[Message], list[Message]]:
        agent, task = start_agent(bank.store, bank.settings, cfg)
        await asyncio.wait_for(agent.started.wait(), 10)
        answers = [
            await asyncio.to_thread(
                submit,
                bank.store,
                bank.settings,
                caller=caller,
                caller_key=f"s{i}",
                customer_id=f"C{i:05d}",
                template_code="tx-notice",
            )
            for i in range(6)
        ]
        job_ids = {a.job_id for a in answers if a.job_id}
        first = await wait_final(job_ids)
        # Lose the outcomes and their receipts: the feed has moved past them, so only a
        # status query can bring them back.
        ids = [m.id for m in first]
        with bank.store.session() as session:
            session.execute(delete(DeliveryEvent).where(DeliveryEvent.message_id.in_(ids)))
            session.execute(
                update(Message)
                .where(Message.id.in_(ids))
                .values(
                    state="accepted",
                    error_code="E-UNCONFIRMED",
                    completed_at=None,
                    updated_at=utcnow() - timedelta(minutes=5),
                )
                .execution_options(synchronize_session=False)
            )
        second = await wait_final(job_ids)
        agent.stop()
        await asyncio.wait_for(task, 15)
        return first, second

    first, second = asyncio.run(scenario())
    assert first and len(second) == len(first)
    assert {m.id: m.state for m in second} == {m.id: m.state for m in first}
    outcome = {
        r["clientKey"]: r["outcome"]
        for j in {m.job_id for m in second}
        for r in ledger_rows(f"{j}.")
    }
    for m in second:
        if m.submitted_at:
            assert m.state == (
                "delivered" if outcome[m.idempotency_key] == "delivered" else "failed"
            )
