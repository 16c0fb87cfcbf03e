"""job_targets, job_dispatch, delivery_receipts and the dispatch checks, on both backends."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import dagster as dg
from sqlalchemy import func, select, update

from assets.dispatch import (
    delivery_receipts,
    job_dispatch,
    job_targets,
    messages_terminal_or_in_flight,
    no_duplicate_idempotency_keys,
)
from ums_pipelines.definitions import materialize_selection
from ums_pipelines.demo import DEMO_SENDER, ROUTES, ledger_by_type, ledger_summary
from ums_pipelines.gateway_sim import GatewaySimulator
from ums_pipelines.jobs import register_job
from ums_pipelines.lanes import TERMINAL_STATES
from ums_pipelines.resources import UmsResource
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Job, Message

GRAPH: list[Any] = [
    job_targets,
    job_dispatch,
    no_duplicate_idempotency_keys,
    messages_terminal_or_in_flight,
]


def _dispatch(
    ums: UmsResource, instance: dg.DagsterInstance, job_id: str
) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions("jobs", [job_id])
    result = dg.materialize(GRAPH, resources={"ums": ums}, instance=instance, partition_key=job_id)
    assert result.success
    return result


def _meta(result: dg.ExecuteInProcessResult, node: str) -> dict[str, Any]:
    [mat] = result.asset_materializations_for_node(node)
    return {k: v.value for k, v in mat.metadata.items()}


def _outbox(store: Store, job_id: str) -> list[tuple[int, int, str]]:
    with store.session() as session:
        rows = session.execute(
            select(Message.id, Message.leg, Message.state)
            .where(Message.job_id == job_id)
            .order_by(Message.id)
        )
        return [(int(i), int(leg), str(state)) for i, leg, state in rows]


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {c.check_name: c for c in result.get_asset_check_evaluations()}


class Checked:
    def __init__(self, result: dg.AssetCheckResult) -> None:
        self.passed = result.passed
        self.metadata = {k: v.value for k, v in (result.metadata or {}).items()}

    def __repr__(self) -> str:
        return f"Checked(passed={self.passed}, metadata={self.metadata})"


def _run_checks(ums: UmsResource) -> dict[str, Checked]:
    """Both checks invoked directly (no partition: they look at the whole store)."""
    out = {}
    for check in (no_duplicate_idempotency_keys, messages_terminal_or_in_flight):
        context = dg.build_asset_check_context(resources={"ums": ums})
        out[check.check_key.name] = Checked(check(context))
    return out


def test_small_job_is_dispatched_through_the_simulator_exactly_once(
    ums_sim: UmsResource,
    sim: GatewaySimulator,
    store: Store,
    settings: Settings,
    instance: dg.DagsterInstance,
    scenario: ModuleType,
) -> None:
    job_id = scenario.register_small_job(store, settings, customers=30)

    result = _dispatch(ums_sim, instance, job_id)

    targets = _meta(result, "job_targets")
    assert targets["targets"] + sum(targets["suppressed"].values()) == 30
    assert targets["targets"] > 0 and targets["frozen_earlier"] is False
    assert sum(targets["first_leg_channels"].values()) == targets["targets"]

    dispatch = _meta(result, "job_dispatch")
    assert dispatch["terminal"] is True
    outbox = _outbox(store, job_id)
    assert sum(leg == 0 for _, leg, _ in outbox) == targets["targets"]  # one first leg each
    assert set(dispatch["states"]) <= TERMINAL_STATES
    # Fallback legs are extra rows: at least one row per target.
    assert sum(dispatch["states"].values()) >= targets["targets"]

    ledger = ledger_by_type(sim.base_url, f"{job_id}.")
    accepted_in_ledger = sum(c["accepted"] for c in ledger.values())
    assert sum(dispatch["accepted_by_channel"].values()) == accepted_in_ledger > 0
    with store.session() as session:
        submitted = session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.job_id == job_id, Message.submitted_at.is_not(None))
        )
        assert submitted == accepted_in_ledger
        job = session.get(Job, job_id)
        assert job is not None and job.status == "done"

    checks = _checks(result)
    assert set(checks) == {"no_duplicate_idempotency_keys", "messages_terminal_or_in_flight"}
    assert all(c.passed for c in checks.values()), checks
    assert checks["no_duplicate_idempotency_keys"].metadata["duplicate_legs"].value == 0

    # The same partition again: nothing is written or sent twice.
    before = ledger_summary(sim.base_url, f"{job_id}.")
    again = _dispatch(ums_sim, instance, job_id)
    assert _meta(again, "job_targets")["frozen_earlier"] is True
    second = _meta(again, "job_dispatch")
    assert _outbox(store, job_id) == outbox  # no row added, none changed state
    assert sum(second["accepted_by_channel"].values()) == 0
    assert second["states"] == dispatch["states"]
    assert ledger_summary(sim.base_url, f"{job_id}.") == before
    assert all(c.passed for c in _checks(again).values())


def test_delivery_receipts_applies_what_the_providers_report(
    ums_sim: UmsResource, store: Store, scenario: ModuleType
) -> None:
    sim_settings = ums_sim.settings()
    job_id, created = scenario.enqueue_small_job(store, sim_settings, customers=20)
    accepted = scenario.submit_without_receipts(store, sim_settings, job_id)
    assert 0 < accepted <= created

    result = dg.materialize([delivery_receipts], resources={"ums": ums_sim})

    assert result.success
    meta = _meta(result, "delivery_receipts")
    assert meta["applied"] > 0 and meta["delivered"] > 0
    assert meta["fetched"] >= meta["applied"]
    with store.session() as session:
        delivered = session.scalar(
            select(func.count()).select_from(Message).where(Message.state == "delivered")
        )
    assert delivered == meta["delivered"]

    # Polling again finds nothing new: receipts are applied once.
    second = _meta(
        dg.materialize([delivery_receipts], resources={"ums": ums_sim}), "delivery_receipts"
    )
    assert second["applied"] == 0 and second["delivered"] == 0


def test_checks_pass_on_a_clean_store(
    ums: UmsResource, store: Store, settings: Settings, scenario: ModuleType
) -> None:
    empty = _run_checks(ums)
    assert all(c.passed for c in empty.values())
    assert empty["no_duplicate_idempotency_keys"].metadata["rows"] == 0

    # Queued messages of a job still dispatching are in flight, which is fine.
    _, created = scenario.enqueue_small_job(store, settings, customers=12)
    queued = _run_checks(ums)
    assert all(c.passed for c in queued.values()), queued
    assert queued["no_duplicate_idempotency_keys"].metadata["rows"] == created
    assert queued["messages_terminal_or_in_flight"].metadata["in_flight_in_done_jobs"] == 0


def test_duplicate_leg_fails_the_idempotency_check(
    ums: UmsResource, store: Store, settings: Settings, scenario: ModuleType
) -> None:
    job_id, _ = scenario.enqueue_small_job(store, settings, customers=12)
    with store.session() as session:
        original = session.scalars(
            select(Message).where(Message.job_id == job_id).order_by(Message.id)
        ).first()
        assert original is not None
        # The same recipient and leg again under another key: a second send of one leg.
        copy = Message(
            **{
                c.key: getattr(original, c.key)
                for c in Message.__table__.columns
                if c.key not in ("id", "idempotency_key")
            },
            idempotency_key=f"{job_id}.copy-of-{original.id}",
        )
        session.add(copy)

    check = _run_checks(ums)["no_duplicate_idempotency_keys"]

    assert not check.passed
    assert check.metadata["duplicate_legs"] == 1
    assert check.metadata["keys_not_derived"] == 1


def test_a_key_not_derived_from_job_customer_and_leg_fails_the_check(
    ums: UmsResource, store: Store, settings: Settings, scenario: ModuleType
) -> None:
    job_id, _ = scenario.enqueue_small_job(store, settings, customers=12)
    with store.session() as session:
        first = session.scalar(select(func.min(Message.id)).where(Message.job_id == job_id))
        session.execute(
            update(Message).where(Message.id == first).values(idempotency_key="hand-made-key")
        )

    check = _run_checks(ums)["no_duplicate_idempotency_keys"]

    assert not check.passed
    assert (check.metadata["duplicate_legs"], check.metadata["keys_not_derived"]) == (0, 1)


def test_message_stuck_in_flight_in_a_done_job_fails_the_state_check(
    ums: UmsResource, store: Store, settings: Settings, scenario: ModuleType
) -> None:
    job_id, _ = scenario.enqueue_small_job(store, settings, customers=12)
    with store.session() as session:
        # Everything terminal but one message, then the job is (wrongly) marked done.
        ids = list(session.scalars(select(Message.id).where(Message.job_id == job_id)))
        session.execute(update(Message).where(Message.id.in_(ids[1:])).values(state="delivered"))
        session.execute(update(Message).where(Message.id == ids[0]).values(state="submitted"))
        session.execute(update(Job).where(Job.job_id == job_id).values(status="done"))

    check = _run_checks(ums)["messages_terminal_or_in_flight"]

    assert not check.passed
    assert check.metadata["in_flight_in_done_jobs"] == 1
    assert check.metadata["unknown_state"] == 0
    assert check.metadata["by_state"] == {"delivered": len(ids) - 1, "submitted": 1}

    with store.session() as session:
        session.execute(update(Message).where(Message.id == ids[0]).values(state="delivered"))
    assert _run_checks(ums)["messages_terminal_or_in_flight"].passed


def test_unknown_message_state_fails_the_state_check(
    ums: UmsResource, store: Store, settings: Settings, scenario: ModuleType
) -> None:
    job_id, _ = scenario.enqueue_small_job(store, settings, customers=12)
    with store.session() as session:
        first = session.scalar(select(func.min(Message.id)).where(Message.job_id == job_id))
        session.execute(update(Message).where(Message.id == first).values(state="lost"))

    check = _run_checks(ums)["messages_terminal_or_in_flight"]

    assert not check.passed
    assert check.metadata["unknown_state"] == 1


def test_checks_in_a_partitioned_run_look_at_their_own_job_only(
    ums_sim: UmsResource,
    sim: GatewaySimulator,
    store: Store,
    settings: Settings,
    instance: dg.DagsterInstance,
    scenario: ModuleType,
) -> None:
    # An old job left broken: marked done with its messages still queued.
    broken, _ = scenario.enqueue_small_job(store, settings, customers=12)
    with store.session() as session:
        session.execute(update(Job).where(Job.job_id == broken).values(status="done"))
        register_job(
            session,
            job_id="next-job",
            name="next",
            template_code="demo-tx-notice",
            routes=ROUTES,
            sender_number=DEMO_SENDER,
            department="digital-channel",
            actor="test",
        )

    result = _dispatch(ums_sim, instance, "next-job")

    checks = _checks(result)
    assert checks["messages_terminal_or_in_flight"].passed, checks
    assert checks["no_duplicate_idempotency_keys"].passed
    # The store as a whole is not clean, and an unpartitioned check says so.
    assert not _run_checks(ums_sim)["messages_terminal_or_in_flight"].passed


def test_materialize_selection_adds_the_job_partition_for_targets_alone(
    ums: UmsResource,
    store: Store,
    settings: Settings,
    instance: dg.DagsterInstance,
    scenario: ModuleType,
) -> None:
    """The CLI's helper: freezing a new job's targets without dispatching it."""
    job_id = scenario.register_small_job(store, settings, customers=12)

    result = materialize_selection(instance, ums, ["job_targets"], job_id)

    assert result.success
    assert _meta(result, "job_targets")["targets"] > 0
    assert result.asset_materializations_for_node("job_dispatch") == []
    assert job_id in instance.get_dynamic_partitions("jobs")
    assert _outbox(store, job_id) == []  # nothing enqueued, nothing sent
