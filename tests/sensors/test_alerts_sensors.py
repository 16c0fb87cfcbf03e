"""The alert sensors: the evaluator tick raises and clears through the engine, refuses
without the role; a failed Dagster run becomes alert 'dagster run failed: job X'."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import select

from sensors.alerts import alerts_run_failure_sensor, alerts_run_success_sensor, alerts_sensor
from ums_pipelines.definitions import defs
from ums_pipelines.resources import UmsResource
from ums_pipelines.store.alerts import Alert, AlertNotification
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.sendplane import Agent


def _run(ums: UmsResource, cursor: str | None = None) -> tuple[Any, str | None]:
    with dg.build_sensor_context(
        resources={"ums": ums}, definitions=defs, cursor=cursor
    ) as context:
        return alerts_sensor(context), context.cursor


def _tick(ums: UmsResource) -> Any:
    return _run(ums)[0]


def test_the_sensor_waits_for_its_interval(ums: UmsResource) -> None:
    first, cursor = _run(ums)
    assert first.skip_message.startswith("alerts: ") and cursor is not None
    assert _run(ums, cursor)[0].skip_message.startswith("next evaluation in ")
    long_ago = str(float(cursor) - 21)  # the default interval is 20 s
    assert _run(ums, long_ago)[0].skip_message.startswith("alerts: ")


def test_the_sensor_raises_and_clears_an_agent_loss(ums: UmsResource) -> None:
    first = _tick(ums)
    assert isinstance(first, dg.SkipReason)
    assert (first.skip_message or "").startswith("alerts: 0 condition(s); 0 raised")
    silent = utcnow() - timedelta(minutes=5)
    with ums.open_store() as store, store.session() as session:
        session.add(
            Agent(
                agent_id="agent-x",
                host="h",
                pid=1,
                lanes=[0],
                providers=["sim-sms"],
                state="running",
                started_at=silent,
                heartbeat_at=silent,
                lease_seconds=30,
                sent=0,
            )
        )
    raised = _tick(ums)
    assert "1 raised" in raised.skip_message
    assert "1 raised" not in _tick(ums).skip_message  # raised once
    with ums.open_store() as store, store.session() as session:
        agent = session.get(Agent, "agent-x")
        assert agent is not None
        agent.state = "stopped"
    assert "1 cleared" in _tick(ums).skip_message
    with ums.open_store() as store, store.reading() as session:
        kinds = session.scalars(select(AlertNotification.kind).order_by(AlertNotification.seq))
        assert list(kinds) == ["raised", "cleared"]


def test_the_sensor_refuses_without_the_operator_role(settings: Any, store_url: str) -> None:
    ums = UmsResource(home=str(settings.home), database_url=store_url)
    result = _tick(ums)
    assert result.skip_message == "ums-scheduler lacks the operator role for '*'"


class _Switch:
    fail = True


@dg.op
def _boom() -> None:
    if _Switch.fail:
        raise RuntimeError("provider file missing")


@dg.job
def nightly_export() -> None:
    _boom()


def _status_context(result: Any, instance: dg.DagsterInstance, ums: UmsResource, kind: Any) -> Any:
    event = next(e for e in result.all_events if e.event_type == kind)
    return dg.build_run_status_sensor_context(
        sensor_name="alerts_run_sensor", dagster_event=event, dagster_instance=instance,
        dagster_run=result.dagster_run, resources={"ums": ums},
    )  # fmt: skip


def test_a_failed_run_raises_a_dagster_alert(
    ums: UmsResource, instance: dg.DagsterInstance
) -> None:
    _Switch.fail = True
    result = nightly_export.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = dg.DagsterEventType.RUN_FAILURE
    alerts_run_failure_sensor(_status_context(result, instance, ums, failure).for_run_failure())
    with ums.open_store() as store, store.reading() as session:
        alert = session.scalars(select(Alert)).one()
        note = session.scalars(select(AlertNotification)).one()
    assert alert.key == "dagster_run_failed:nightly_export"
    assert alert.summary == "dagster run failed: job nightly_export" and alert.state == "raised"
    assert alert.details["run_id"] == result.dagster_run.run_id
    # No webhook configured, no on-call contact: delivered as far as it goes, at once.
    assert (note.kind, note.oncall_state, note.webhook_state) == ("raised", "queued", "off")

    # The job's next run succeeds: the alert clears, with its notification.
    _Switch.fail = False
    result = nightly_export.execute_in_process(instance=instance)
    success = dg.DagsterEventType.RUN_SUCCESS
    alerts_run_success_sensor(_status_context(result, instance, ums, success))
    with ums.open_store() as store, store.reading() as session:
        alert = session.scalars(select(Alert)).one()
        kinds = session.scalars(select(AlertNotification.kind).order_by(AlertNotification.seq))
        assert alert.state == "cleared" and list(kinds) == ["raised", "cleared"]


@pytest.mark.parametrize(
    "name", ["alerts_sensor", "alerts_run_failure_sensor", "alerts_run_success_sensor"]
)
def test_sensors_are_defined_with_a_description(name: str) -> None:
    assert defs.resolve_sensor_def(name).description
