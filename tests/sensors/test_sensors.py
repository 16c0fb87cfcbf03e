"""Sensors and schedules, evaluated the way the daemon does: one tick at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from sqlalchemy import update

from reports import daily_partitions, daily_report_schedule
from sensors import analytics_schedule
from sensors import sensors as sensors_module
from sensors.sensors import customer_files_sensor, new_jobs_sensor, receipts_sensor
from ums_pipelines.definitions import defs
from ums_pipelines.demo import DEMO_JOB_ID, DEMO_SENDER, ROUTES, register_demo_job
from ums_pipelines.jobs import register_job
from ums_pipelines.resources import UmsResource
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store, utcnow
from ums_pipelines.store.models import Job, Message

KST = ZoneInfo("Asia/Seoul")
HEADER = "customer_id,changed_at,name,phone\n"


def _tick(
    sensor: dg.SensorDefinition,
    ums: UmsResource,
    instance: dg.DagsterInstance | None = None,
    cursor: str | None = None,
) -> dg.SensorResult | dg.SkipReason:
    with dg.build_sensor_context(
        instance=instance, resources={"ums": ums}, cursor=cursor, definitions=defs
    ) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def _runs(result: dg.SensorResult | dg.SkipReason) -> list[dg.RunRequest]:
    if isinstance(result, dg.SkipReason):
        return []
    return list(result.run_requests or [])


def _register_second_job(store: Store, job_id: str) -> None:
    with store.session() as session:
        register_job(
            session,
            job_id=job_id,
            name=job_id,
            template_code="demo-tx-notice",
            routes=ROUTES,
            sender_number=DEMO_SENDER,
            department="digital-channel",
            actor="test",
        )


# --- new send jobs ------------------------------------------------------------------


def test_new_jobs_sensor_adds_a_partition_and_requests_one_run_per_new_job(
    ums: UmsResource, store: Store, instance: dg.DagsterInstance
) -> None:
    assert _runs(_tick(new_jobs_sensor, ums, instance)) == []

    register_demo_job(store)
    _register_second_job(store, "payday-2026-03")

    first = _tick(new_jobs_sensor, ums, instance)

    assert isinstance(first, dg.SensorResult)
    runs = _runs(first)
    assert sorted(r.partition_key or "" for r in runs) == sorted([DEMO_JOB_ID, "payday-2026-03"])
    assert {r.run_key for r in runs} == {f"dispatch:{DEMO_JOB_ID}", "dispatch:payday-2026-03"}
    [add] = first.dynamic_partitions_requests or []
    assert isinstance(add, dg.AddDynamicPartitionsRequest)
    assert add.partitions_def_name == "jobs"
    assert sorted(add.partition_keys) == sorted([DEMO_JOB_ID, "payday-2026-03"])

    # The daemon applies the partition request; the next tick adds nothing, and any run
    # request it repeats carries the same run key, which the daemon never launches twice.
    instance.add_dynamic_partitions("jobs", list(add.partition_keys))
    second = _tick(new_jobs_sensor, ums, instance)
    assert isinstance(second, dg.SensorResult)
    assert not second.dynamic_partitions_requests
    assert {r.run_key for r in _runs(second)} <= {r.run_key for r in runs}

    # A third job: only it is new.
    _register_second_job(store, "card-notice-7")
    third = _tick(new_jobs_sensor, ums, instance)
    assert isinstance(third, dg.SensorResult)
    [add3] = third.dynamic_partitions_requests or []
    assert list(add3.partition_keys) == ["card-notice-7"]
    assert "dispatch:card-notice-7" in {r.run_key for r in _runs(third)}

    # Once dispatching has started (or finished) a job is no one's business here.
    with store.session() as session:
        session.execute(update(Job).values(status="dispatching"))
    instance.add_dynamic_partitions("jobs", ["card-notice-7"])
    quiet = _tick(new_jobs_sensor, ums, instance)
    assert _runs(quiet) == []
    assert isinstance(quiet, dg.SensorResult) and not quiet.dynamic_partitions_requests


def test_new_jobs_sensor_tick_resolves_against_the_dispatch_job(
    ums: UmsResource, store: Store
) -> None:
    """Dagster's own tick evaluation accepts partitions that the same tick adds."""
    register_demo_job(store)
    # A persistent test instance: the tick loads dynamic partitions through its ref, as the
    # daemon's code server does (an ephemeral instance has no ref).
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(
            instance=instance,
            instance_ref=instance.get_ref(),
            resources={"ums": ums},
            definitions=defs,
        ) as context,
    ):
        data = new_jobs_sensor.evaluate_tick(context)

    [run] = data.run_requests or []
    assert run.partition_key == DEMO_JOB_ID
    assert run.tags["dagster/partition"] == DEMO_JOB_ID
    assert run.tags["dagster/sensor_name"] == "new_jobs_sensor"
    assert [list(r.partition_keys) for r in data.dynamic_partitions_requests or []] == [
        [DEMO_JOB_ID]
    ]
    assert new_jobs_sensor.job_name == "dispatch_job"


# --- customer change files ------------------------------------------------------------


def test_customer_files_sensor_sees_settled_files_only(
    ums: UmsResource, settings: Settings
) -> None:
    assert isinstance(_tick(customer_files_sensor, ums), dg.SkipReason)

    inbox = settings.customer_inbox
    inbox.mkdir(parents=True)
    (inbox / ".cust_001.csv.tmp").write_text(HEADER, encoding="utf-8")  # still being written
    (inbox / "notes.txt").write_text("not a change file", encoding="utf-8")
    assert isinstance(_tick(customer_files_sensor, ums), dg.SkipReason)

    (inbox / ".cust_001.csv.tmp").replace(inbox / "cust_001.csv")
    [run] = _runs(_tick(customer_files_sensor, ums))
    assert run.run_key is not None and run.run_key.startswith("customers:")
    assert run.tags["files"] == "1"

    # The same waiting files: the same run key (one sync run, however many ticks).
    [again] = _runs(_tick(customer_files_sensor, ums))
    assert again.run_key == run.run_key

    # Another file arrives: a new run key, covering both.
    (inbox / "cust_002.csv").write_text(HEADER + "C1,2024-05-01T09:00:00,김,\n", encoding="utf-8")
    [more] = _runs(_tick(customer_files_sensor, ums))
    assert more.run_key != run.run_key and more.tags["files"] == "2"

    # Processed files leave the inbox; the sensor goes quiet.
    for path in inbox.glob("*.csv"):
        path.unlink()
    assert isinstance(_tick(customer_files_sensor, ums), dg.SkipReason)


def test_customer_files_sensor_survives_a_file_moved_while_it_looks(
    ums: UmsResource, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync run may move a file between the sensor's listing and its stat of the file."""
    inbox = settings.customer_inbox
    inbox.mkdir(parents=True)
    (inbox / "cust_001.csv").write_text(HEADER, encoding="utf-8")
    gone = inbox / "cust_000.csv"  # listed, then moved to processed/ by the running sync
    listed = [gone, inbox / "cust_001.csv"]
    monkeypatch.setattr(sensors_module, "pending_files", lambda _settings: listed)

    [run] = _runs(_tick(customer_files_sensor, ums))
    assert run.tags["files"] == "1"

    listed.pop()  # now both have been taken
    assert isinstance(_tick(customer_files_sensor, ums), dg.SkipReason)


# --- delivery receipts ----------------------------------------------------------------


def test_receipts_sensor_runs_only_while_messages_wait_for_receipts(
    ums: UmsResource, store: Store
) -> None:
    skip = _tick(receipts_sensor, ums)
    assert isinstance(skip, dg.SkipReason)

    register_demo_job(store)
    now = utcnow()
    with store.session() as session:
        for n, state in enumerate(("delivered", "accepted", "failed")):
            session.add(
                Message(
                    idempotency_key=f"{DEMO_JOB_ID}.k{n}",
                    job_id=DEMO_JOB_ID,
                    customer_id=f"C{n:07d}",
                    channel="sms",
                    message_type="SMS",
                    provider="sim-sms",
                    leg=0,
                    chain=["sms"],
                    priority=3,
                    recipient="01012345678",
                    body="안내",
                    state=state,
                    attempts=1,
                    created_at=now,
                    updated_at=now,
                )
            )

    [run] = _runs(_tick(receipts_sensor, ums))
    assert run.run_key is not None and run.run_key.startswith("receipts:")
    assert receipts_sensor.job_name == "receipts_job"

    with store.session() as session:
        session.execute(update(Message).values(state="delivered"))
    assert isinstance(_tick(receipts_sensor, ums), dg.SkipReason)


# --- schedules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheduled", "expected"),
    [
        # The schedule's own tick: 07:00 KST is 22:00 UTC of the previous UTC day.
        (datetime(2026, 3, 10, 7, 0, tzinfo=KST), "2026-03-09"),
        (datetime(2026, 3, 9, 22, 0, tzinfo=UTC), "2026-03-09"),
        # Just after midnight KST, still the previous day in UTC.
        (datetime(2026, 3, 9, 15, 30, tzinfo=UTC), "2026-03-09"),
        # Just before midnight KST: the UTC date is the same, the report is of the day before.
        (datetime(2026, 3, 10, 14, 59, tzinfo=UTC), "2026-03-09"),
        # Month and year boundaries in Korea time.
        (datetime(2026, 2, 28, 22, 0, tzinfo=UTC), "2026-02-28"),
        (datetime(2026, 12, 31, 22, 0, tzinfo=UTC), "2026-12-31"),
    ],
    ids=["0700kst", "2200utc", "0030kst", "2359kst", "march", "new-year"],
)
def test_daily_report_schedule_asks_for_the_previous_korea_day(
    scheduled: datetime, expected: str
) -> None:
    context = dg.build_schedule_context(scheduled_execution_time=scheduled)

    request = daily_report_schedule(context)

    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == expected
    assert request.run_key == f"daily-report:{expected}"
    # The partition the schedule asks for exists at that moment.
    assert expected in daily_partitions.get_partition_keys(current_time=scheduled)


def test_daily_report_schedule_tick_resolves_its_partition() -> None:
    scheduled = datetime(2026, 3, 10, 7, 0, tzinfo=KST)
    context = dg.build_schedule_context(
        scheduled_execution_time=scheduled, repository_def=defs.get_repository_def()
    )

    data = daily_report_schedule.evaluate_tick(context)

    [request] = data.run_requests or []
    assert request.partition_key == "2026-03-09"
    assert request.tags.get("dagster/partition") == "2026-03-09"


def test_daily_report_schedule_skips_the_morning_of_its_first_day() -> None:
    first = daily_partitions.start.astimezone(KST).date()
    scheduled = datetime(first.year, first.month, first.day, 7, 0, tzinfo=KST)
    context = dg.build_schedule_context(
        scheduled_execution_time=scheduled, repository_def=defs.get_repository_def()
    )

    data = daily_report_schedule.evaluate_tick(context)

    assert not data.run_requests
    assert data.skip_message and "before the first report day" in data.skip_message

    # The next morning reports the first day.
    context = dg.build_schedule_context(scheduled_execution_time=scheduled + timedelta(days=1))
    request = daily_report_schedule(context)
    assert isinstance(request, dg.RunRequest) and request.partition_key == first.isoformat()


def test_schedules_run_on_korea_time() -> None:
    assert daily_report_schedule.cron_schedule == "0 7 * * *"
    assert daily_report_schedule.execution_timezone == "Asia/Seoul"
    assert daily_report_schedule.job_name == "daily_report_job"

    assert analytics_schedule.job_name == "analytics_job"
    assert analytics_schedule.execution_timezone == "Asia/Seoul"
    data = analytics_schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 10, tzinfo=KST))
    )
    assert len(data.run_requests or []) == 1
