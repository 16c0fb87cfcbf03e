"""retention_purge: the weekly asset carries out the plan its previous run recorded and
removes the dynamic partitions of jobs whose messages are all gone."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import time_machine
from sqlalchemy import func, select

from assets.retention import retention_purge
from sensors.retention import retention_schedule
from ums_pipelines.resources import UmsResource
from ums_pipelines.store import Store, utcnow
from ums_pipelines.store.models import Job, Message, Template
from ums_pipelines.targets import targets_path


def _seed(store: Store) -> None:
    now = utcnow()
    old = now - timedelta(days=2000)
    with store.session() as s:
        t = Template(code="T", name="t", purpose="informational", created_at=now)
        s.add(t)
        s.flush()
        # ORPHAN: purged by a run that stopped before removing its key; UNSENT: no
        # messages yet, and young: it keeps its key.
        # WAITING: old but still to be sent (new_jobs_sensor would add its key again).
        for job_id, at, status in (
            ("OLD", now, "done"),
            ("NEW", now, "done"),
            ("ORPHAN", old, "done"),
            ("UNSENT", now, "done"),
            ("WAITING", old, "approved"),
        ):
            s.add(Job(job_id=job_id, name="j", template_id=t.id, template_version=1,
                      purpose="informational", priority=5, routes={}, sender_number="15881234",
                      department="d", status=status, created_at=at, updated_at=at))  # fmt: skip
        s.flush()
        for n, (job_id, at) in enumerate((("OLD", old), ("OLD", old), ("NEW", now))):
            s.add(Message(idempotency_key=f"k{n}", job_id=job_id, customer_id=f"C{n}",
                          channel="sms", message_type="SMS", provider="p", chain=["sms"],
                          priority=5, recipient="x@example.com", body="본문", state="delivered",
                          created_at=at, updated_at=at))  # fmt: skip


def test_weekly_purge_removes_emptied_partitions(
    ums: UmsResource, store_url: str, instance: dg.DagsterInstance
) -> None:
    store = Store(store_url)
    store.migrate()
    _seed(store)
    instance.add_dynamic_partitions("jobs", ["OLD", "NEW", "ORPHAN", "UNSENT", "WAITING"])
    settings = ums.settings()
    for job_id in ("OLD", "NEW"):
        targets_path(settings, job_id).parent.mkdir(parents=True, exist_ok=True)
        targets_path(settings, job_id).write_bytes(b"PAR1")

    first = dg.materialize([retention_purge], instance=instance, resources={"ums": ums})
    meta = first.asset_materializations_for_node("retention_purge")[0].metadata
    assert meta["plan_carried_out"].value == "none due"  # the first run only gives notice
    assert meta["next_message_rows"].value == 2
    assert meta["partitions_removed"].value == 1  # the orphan's key, found without a purge
    assert sorted(instance.get_dynamic_partitions("jobs")) == ["NEW", "OLD", "UNSENT", "WAITING"]

    with time_machine.travel(utcnow() + timedelta(days=7), tick=False):
        second = dg.materialize([retention_purge], instance=instance, resources={"ums": ums})
    meta = second.asset_materializations_for_node("retention_purge")[0].metadata
    assert meta["purged_message_rows"].value == 2
    assert meta["partitions_removed"].value == 1
    assert meta["purged_job_targets"].value == 1
    assert sorted(instance.get_dynamic_partitions("jobs")) == ["NEW", "UNSENT", "WAITING"]
    assert not targets_path(settings, "OLD").exists() and targets_path(settings, "NEW").exists()
    with store.reading() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1
    store.dispose()
    assert retention_schedule.execution_timezone == "Asia/Seoul"
