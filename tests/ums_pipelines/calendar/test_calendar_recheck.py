"""Open conflicts are checked again: a cancelled job's conflicts resolve and their alerts
clear; two windows both over are history; a job still ahead keeps its conflict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from ums_pipelines.calendar.recheck import jobs_in_open_conflicts, recheck_open
from ums_pipelines.compliance.workflow import transition
from ums_pipelines.jobs import SendPlan, register_job
from ums_pipelines.store.alerts import Alert
from ums_pipelines.store.models import Job

KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 9, 1, tzinfo=UTC)


def _plan(bank: Any, job_id: str, start: datetime, end: datetime) -> None:
    with bank.store.session() as session:
        register_job(
            session, job_id=job_id, name=job_id, template_code="tx-notice",
            routes={"default": ["sms"]}, sender_number="15881234", department="card",
            actor="author", plan=SendPlan(not_before=start, must_end_by=end),
            settings=bank.settings,
        )  # fmt: skip


def _alert_states(bank: Any) -> dict[str, str]:
    with bank.store.reading() as session:
        rows = session.execute(
            select(Alert.key, Alert.state).where(Alert.rule == "calendar_conflict")
        )
        return {key: state for key, state in rows}


def _two_on_one_day(bank: Any) -> None:
    bank.register("seed")
    day = datetime(2026, 9, 23, tzinfo=KST)
    _plan(bank, "am", day + timedelta(hours=10), day + timedelta(hours=11))
    _plan(bank, "pm", day + timedelta(hours=15), day + timedelta(hours=16))


def test_a_cancelled_job_resolves_its_conflicts(bank: Any) -> None:
    with time_machine.travel(NOW, tick=True):
        _two_on_one_day(bank)
        assert jobs_in_open_conflicts(bank.store) == ["am", "pm"]
        assert _alert_states(bank) == {"calendar_conflict:am:pm:purpose": "raised"}
        # nothing changed: checked, nothing opened or resolved
        result = recheck_open(bank.store, bank.settings, actor="ums-scheduler")
        assert (result.checked, result.opened, result.resolved) == (["am", "pm"], 0, 0)
        with bank.store.session() as session:
            job = session.get(Job, "pm")
            assert job is not None
            transition(session, job, "cancelled", "ops")
        result = recheck_open(bank.store, bank.settings, actor="ums-scheduler")
        assert result.resolved == 1 and result.summary.endswith("1 resolved")
    assert jobs_in_open_conflicts(bank.store) == []
    assert _alert_states(bank) == {"calendar_conflict:am:pm:purpose": "cleared"}


def test_windows_both_over_are_history_but_not_while_one_is_ahead(bank: Any) -> None:
    with time_machine.travel(NOW, tick=True):
        _two_on_one_day(bank)
    # 12:00 KST that day: "am" is over, "pm" is still ahead: the conflict stands
    with time_machine.travel(datetime(2026, 9, 23, 3, tzinfo=UTC), tick=True):
        result = recheck_open(bank.store, bank.settings, actor="ums-scheduler")
        assert result.resolved == 0 and jobs_in_open_conflicts(bank.store) == ["am", "pm"]
    # the next day: both over
    with time_machine.travel(datetime(2026, 9, 24, 3, tzinfo=UTC), tick=True):
        result = recheck_open(bank.store, bank.settings, actor="ums-scheduler")
        assert result.resolved == 1
    assert _alert_states(bank) == {"calendar_conflict:am:pm:purpose": "cleared"}
