"""Done when (issue 9, 3): two jobs for overlapping customers on the same day raise the
alert naming both; a job for other customers, purpose and provider raises none."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ums_pipelines.calendar.check import check_job
from ums_pipelines.calendar.schedule import ScheduleError, reschedule
from ums_pipelines.jobs import ChannelVariant, SendPlan, register_job, register_template
from ums_pipelines.lanes import Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.alerts import Alert, AlertNotification
from ums_pipelines.store.calendar import CalendarConflict
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import AuditLog, Job
from ums_pipelines.targets import extract_targets

KST = ZoneInfo("Asia/Seoul")
# A Wednesday and a business day in the future of the tests' clock (the checks and a
# move refuse windows already over).
DAY = datetime(2027, 3, 3, tzinfo=KST)


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return DAY + timedelta(days=days, hours=hour, minutes=minute)


def _template(bank: Any, code: str, purpose: Purpose) -> None:
    with bank.store.session() as session:
        register_template(
            session, code=code, name=code, purpose=purpose, variables=("name",),
            variants=(ChannelVariant("sms", "[UMS은행] {{ name }}님 안내"),
                      ChannelVariant("push", "{{ name }}님 안내", "안내")),
            actor="test",
        )  # fmt: skip


def _job(
    bank: Any,
    job_id: str,
    start: datetime,
    *,
    code: str = "cal-info",
    channel: str = "sms",
    end: datetime | None = None,
    settings: Settings | None = None,
) -> None:
    with bank.store.session() as session:
        register_job(
            session, job_id=job_id, name=job_id, template_code=code,
            routes={"default": [channel]}, sender_number="15881234", department="card",
            actor="author", plan=SendPlan(not_before=start, must_end_by=end),
            settings=settings,
        )  # fmt: skip


def _freeze(bank: Any, job_id: str, customers: Sequence[str]) -> None:
    extract_targets(bank.store, bank.settings, job_id, candidates=customers, actor="author")


@pytest.fixture
def cal(bank: Any) -> Any:
    bank.register("seed-job")  # the sender number and the shared template
    for i in range(10):
        bank.add_customer(f"K{i}", push_token=f"tok-{i}")
    _template(bank, "cal-info", Purpose.INFORMATIONAL)
    _template(bank, "cal-auth", Purpose.AUTH)
    return bank


def _open(bank: Any) -> list[tuple[str, str, str, float]]:
    with bank.store.reading() as session:
        rows = session.scalars(
            select(CalendarConflict).where(CalendarConflict.resolved_at.is_(None))
        )
        return sorted((r.job_a, r.job_b, r.kind, r.shared) for r in rows)


def _alerts(bank: Any) -> dict[str, tuple[str, str, dict[str, Any], list[str]]]:
    """key -> (state, summary, details, notification kinds) of the calendar's alerts."""
    with bank.store.reading() as session:
        alerts = session.scalars(select(Alert).where(Alert.rule == "calendar_conflict")).all()
        out = {}
        for a in alerts:
            kinds = session.scalars(
                select(AlertNotification.kind)
                .where(AlertNotification.alert_id == a.id)
                .order_by(AlertNotification.seq)
            ).all()
            out[a.key] = (a.state, a.summary, dict(a.details), list(kinds))
        return out


def _audited(bank: Any, action: str) -> list[dict[str, Any]]:
    with bank.store.reading() as session:
        rows = session.scalars(select(AuditLog).where(AuditLog.action == action))
        return [{"job": r.entity_id, **r.detail} for r in rows]


def test_overlapping_customers_on_the_same_day_raise_the_alert_naming_both(
    cal: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _job(cal, "card-am", at(10), end=at(11))
    _job(cal, "card-pm", at(15), end=at(16))
    _freeze(cal, "card-am", ["K0", "K1", "K2", "K3"])
    # the other list is not frozen yet: no customers known to share (the same purpose is)
    assert [k for *_, k, _ in _open(cal)] == ["purpose"]
    _freeze(cal, "card-pm", ["K2", "K3", "K4", "K5"])

    conflicts = _open(cal)
    assert ("card-am", "card-pm", "customers", 2.0) in conflicts
    (entry,) = [e for e in _audited(cal, "calendar.conflict") if e["kind"] == "customers"]
    assert entry["job"] == "card-pm" and entry["other"] == "card-am" and entry["shared"] == 2
    # a free slot is suggested: not on that day, on a business day within hours
    suggested = datetime.fromisoformat(entry["suggested"]).astimezone(KST)
    assert suggested.date() > DAY.date() and 9 <= suggested.hour < 18
    # the alert: raised once, naming both jobs, the kind, the count and the free slot
    state, summary, details, kinds = _alerts(cal)["calendar_conflict:card-am:card-pm:customers"]
    assert state == "raised" and kinds == ["raised"]
    assert "card-pm and card-am: customers conflict (2 customers" in summary
    assert "nearest free slot" in summary
    assert details["jobs"] == ["card-am", "card-pm"] and details["shared"] == 2
    assert details["suggested"][0] == entry["suggested"]
    warned = [r.getMessage() for r in caplog.records if "send calendar" in r.getMessage()]
    assert any("card-pm and card-am: customers conflict (2 customers" in m for m in warned)


def test_other_customers_purpose_and_provider_raise_nothing(cal: Any) -> None:
    _job(cal, "card-am", at(10), end=at(11))
    _freeze(cal, "card-am", ["K0", "K1", "K2"])
    # overlapping in time, but other customers, auth (not a conflicting purpose), FCM
    _job(cal, "otp-am", at(10, 30), code="cal-auth", channel="push", settings=cal.settings)
    _freeze(cal, "otp-am", ["K7", "K8"])
    assert _open(cal) == []
    assert _audited(cal, "calendar.conflict") == []
    assert _alerts(cal) == {}


def test_registration_finds_purpose_and_provider_conflicts_before_targets(cal: Any) -> None:
    _job(cal, "notice-a", at(10), end=at(12))
    _job(cal, "notice-b", at(11), end=at(13), settings=cal.settings)
    assert _open(cal) == [
        ("notice-a", "notice-b", "provider", 200.0),  # two unpaced jobs at 100/s each
        ("notice-a", "notice-b", "purpose", 60.0),
    ]


def test_moving_a_job_to_the_suggested_slot_resolves_its_conflicts(cal: Any) -> None:
    _job(cal, "card-am", at(10), end=at(11))
    _job(cal, "card-pm", at(15), end=at(16))
    _freeze(cal, "card-am", ["K0", "K1"])
    _freeze(cal, "card-pm", ["K1", "K2"])
    with cal.store.session() as session:
        report = check_job(session, cal.settings, "card-pm", actor="author")
        assert report.opened == []  # found at the freeze already: not alerted twice
        assert {c.kind for c in report.conflicts} == {"customers", "purpose"}
        slot = report.suggestion
        assert slot is not None
        moved = reschedule(
            session, cal.settings, "card-pm", not_before=slot.start, must_end_by=slot.end,
            actor="author",
        )  # fmt: skip
        assert moved.conflicts == []
        assert sorted(k for *_, k in moved.resolved) == ["customers", "purpose"]
    assert _open(cal) == []
    alerts = _alerts(cal)
    assert sorted(alerts) == [
        "calendar_conflict:card-am:card-pm:customers",
        "calendar_conflict:card-am:card-pm:purpose",
    ]
    assert all(state == "cleared" and kinds == ["raised", "cleared"]
               for state, _, _, kinds in alerts.values())  # fmt: skip
    (entry,) = _audited(cal, "job.rescheduled")
    assert entry["was"]["not_before"] == "2027-03-03T06:00:00+00:00"
    assert entry["now"]["not_before"] == slot.start.astimezone(UTC).isoformat()
    with cal.store.reading() as session:
        job = session.get(Job, "card-pm")
        assert job is not None and job.not_before is not None
        assert as_utc(job.not_before) == slot.start


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2027, 3, 3, 10), None, "not_before: .* no time zone"),
        (at(12), at(11), "must_end_by: the window ends before it begins"),
        (datetime(2020, 1, 1, tzinfo=KST), None, "not_before: the window is over"),
    ],
)
def test_a_bad_new_window_is_refused_naming_the_field(
    cal: Any, start: datetime, end: datetime | None, message: str
) -> None:
    _job(cal, "card-am", at(10), end=at(11))
    with cal.store.session() as session, pytest.raises(ScheduleError, match=message):
        reschedule(session, cal.settings, "card-am", not_before=start, must_end_by=end,
                   actor="author")  # fmt: skip


def test_a_pair_inserted_by_a_concurrent_check_is_taken_not_duplicated(cal: Any) -> None:
    from ums_pipelines.calendar.check import _insert
    from ums_pipelines.calendar.conflicts import Conflict

    conflict = Conflict("b-job", "a-job", "customers", 3, "both", at(10), at(11))
    pair = ("a-job", "b-job", "customers")
    with cal.store.session() as session:
        first, inserted = _insert(session, pair, conflict, "b-job", at(0))
        again, second = _insert(session, pair, conflict, "a-job", at(1))
        assert inserted is True and second is False
        assert again.id == first.id and again.found_for == "b-job"
    assert _open(cal) == [("a-job", "b-job", "customers", 3.0)]
