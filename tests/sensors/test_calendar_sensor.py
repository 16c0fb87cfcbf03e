"""The calendar sensor checks open conflicts again as ums-scheduler, and does nothing
without the role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import time_machine

from sensors.calendar import calendar_conflicts_sensor
from ums_pipelines.calendar.recheck import jobs_in_open_conflicts
from ums_pipelines.compliance.workflow import transition
from ums_pipelines.definitions import defs
from ums_pipelines.jobs import (
    ChannelVariant,
    SendPlan,
    register_job,
    register_sender_number,
    register_template,
)
from ums_pipelines.lanes import Purpose
from ums_pipelines.resources import UmsResource
from ums_pipelines.store import Store
from ums_pipelines.store.models import Job

KST = ZoneInfo("Asia/Seoul")


def _tick(ums: UmsResource) -> Any:
    with dg.build_sensor_context(resources={"ums": ums}, definitions=defs) as context:
        return calendar_conflicts_sensor(context)


def test_the_sensor_resolves_a_cancelled_jobs_conflict(ums: UmsResource, store_url: str) -> None:
    store = Store(store_url)
    day = datetime(2026, 9, 23, tzinfo=KST)
    with time_machine.travel(datetime(2026, 9, 1, tzinfo=UTC), tick=True):
        with store.session() as session:
            register_sender_number(session, "15881234", "고객센터", actor="t")
            register_template(
                session, code="t", name="t", purpose=Purpose.INFORMATIONAL,
                variables=("name",), variants=(ChannelVariant("sms", "{{ name }}님 안내"),),
                actor="t",
            )  # fmt: skip
            for job_id, hour in (("am", 10), ("pm", 15)):
                start = day + timedelta(hours=hour)
                register_job(
                    session, job_id=job_id, name=job_id, template_code="t",
                    routes={"default": ["sms"]}, sender_number="15881234", department="card",
                    actor="t", plan=SendPlan(not_before=start), settings=ums.settings(),
                )  # fmt: skip
        assert jobs_in_open_conflicts(store) == ["am", "pm"]
        with store.session() as session:
            job = session.get(Job, "am")
            assert job is not None
            transition(session, job, "cancelled", "ops")
        result = _tick(ums)
    assert result.skip_message == "calendar: 2 jobs checked, 0 conflicts opened, 1 resolved"
    assert jobs_in_open_conflicts(store) == []
    intruder = UmsResource(home=ums.home, database_url=ums.database_url, actor="intruder")
    refused = _tick(intruder)
    assert refused.skip_message == "intruder lacks the author or operator role for '*'"
    store.dispose()
