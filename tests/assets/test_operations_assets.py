"""operations_snapshot: the monitoring snapshot as asset metadata, its lights check, and
the 5-minute schedule; the service account's role is checked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dagster as dg

from assets.operations import operations_snapshot
from sensors.operations import operations_snapshot_schedule
from ums_pipelines.jobs import (
    ChannelVariant,
    register_job,
    register_sender_number,
    register_template,
)
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.resources import UmsResource
from ums_pipelines.store import Store, utcnow
from ums_pipelines.store.models import Message, ProviderCircuit


def _seed(store: Store) -> None:
    now = utcnow()
    with store.session() as s:
        register_sender_number(s, "15881234", "고객센터", actor="test")
        register_template(s, code="T", name="t", purpose=Purpose.INFORMATIONAL, variables=(),
                          variants=[ChannelVariant("sms", "안내")], actor="test")  # fmt: skip
        register_job(s, job_id="J", name="j", template_code="T", routes={"sms": ["sms"]},
                     sender_number="15881234", department="d", actor="test",
                     lane=Lane.INFORMATIONAL)  # fmt: skip
        for n, state in enumerate(["queued"] * 3 + ["delivered"] * 2):
            s.add(Message(idempotency_key=f"k{n}", job_id="J", customer_id=f"C{n}",
                          channel="sms", message_type="SMS", provider="relay", chain=["sms"],
                          priority=30, recipient="x", body="본문", state=state,
                          created_at=now - timedelta(minutes=20), updated_at=now))  # fmt: skip
        s.add(ProviderCircuit(provider="relay", state="open", failures=0,
                              open_until_ns=0, probes=0, probe_round_ns=0, times_opened=1,
                              updated_at=now))  # fmt: skip


def test_snapshot_metadata_and_red_light_warning(
    ums: UmsResource, store_url: str, instance: dg.DagsterInstance
) -> None:
    store = Store(store_url)
    _seed(store)
    store.dispose()
    result = dg.materialize([operations_snapshot], instance=instance, resources={"ums": ums})
    assert result.success
    meta = result.asset_materializations_for_node("operations_snapshot")[0].metadata
    assert meta["stage_queued"].value == 3 and meta["stage_delivered"].value == 2
    assert meta["messages_in_hand"].value == 3
    assert meta["backlog_informational"].value == 3
    assert meta["backlog_informational_oldest_due_s"].value >= 20 * 60
    assert meta["circuits_open"].value == 1 and meta["overall_light"].value == "red"
    assert "| sms | 3 |" in meta["stages_by_channel"].value
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "no_red_lights" and not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert "provider relay: circuit open" in check.metadata["red"].value


def test_without_the_role_the_run_fails(
    store_url: str, instance: dg.DagsterInstance, settings: Any
) -> None:
    intruder = UmsResource(home=str(settings.home), database_url=store_url, actor="intruder")
    result = dg.materialize(
        [operations_snapshot], instance=instance, resources={"ums": intruder}, raise_on_error=False
    )
    assert not result.success


def test_schedule_every_five_minutes() -> None:
    assert operations_snapshot_schedule.cron_schedule == "*/5 * * * *"
    assert operations_snapshot_schedule.job_name == "operations_job"
