"""Sensors launch only runs their service account may do, and say so; they record no
denial (they tick every few seconds; the run's asset is what is refused and audited)."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import func, select

from sensors.sensors import new_jobs_sensor, receipts_sensor
from ums_pipelines.definitions import defs
from ums_pipelines.demo import DEMO_JOB_ID, register_demo_job
from ums_pipelines.resources import UmsResource
from ums_pipelines.store import Store
from ums_pipelines.store.models import AuditLog


def _tick(
    sensor: dg.SensorDefinition, ums: UmsResource, instance: dg.DagsterInstance
) -> dg.SensorResult | dg.SkipReason:
    with dg.build_sensor_context(
        instance=instance, resources={"ums": ums}, definitions=defs
    ) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def test_sensors_act_only_within_the_service_accounts_roles(
    ums: UmsResource, store: Store, instance: dg.DagsterInstance
) -> None:
    register_demo_job(store)
    allowed = _tick(new_jobs_sensor, ums, instance)
    assert isinstance(allowed, dg.SensorResult)
    assert [r.partition_key for r in allowed.run_requests or []] == [DEMO_JOB_ID]

    intruder = UmsResource(home=ums.home, database_url=ums.database_url, actor="intruder")
    refused = _tick(new_jobs_sensor, intruder, instance)
    assert isinstance(refused, dg.SensorResult) and not refused.run_requests
    skipped = _tick(receipts_sensor, intruder, instance)
    assert isinstance(skipped, dg.SkipReason)
    assert "intruder lacks the operator role" in (skipped.skip_message or "")
    with store.session() as session:
        denials = select(func.count()).select_from(AuditLog)
        assert session.scalar(denials.where(AuditLog.action == "access.denied")) == 0
