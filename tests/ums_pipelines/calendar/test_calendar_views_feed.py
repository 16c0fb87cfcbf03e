"""The calendar's views (day/week/month JSON), its iCalendar feed and the routes the
board mounts, over a store with jobs planned around Chuseok 2026 (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.testclient import TestClient

from ums_pipelines.calendar.ics import calendar_feed, job_uid
from ums_pipelines.calendar.schedule import reschedule
from ums_pipelines.calendar.views import calendar_view, period_of
from ums_pipelines.calendar.web import calendar_routes
from ums_pipelines.jobs import SendPlan, register_job
from ums_pipelines.targets import extract_targets

KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 9, 1, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


def _job(bank: Any, job_id: str, start: datetime, end: datetime | None, dept: str) -> None:
    with bank.store.session() as session:
        register_job(
            session, job_id=job_id, name=f"{job_id} 안내", template_code="tx-notice",
            routes={"default": ["sms"]}, sender_number="15881234", department=dept,
            actor="author", plan=SendPlan(not_before=start, must_end_by=end),
        )  # fmt: skip


@pytest.fixture
def planned(bank: Any) -> Any:
    bank.register("unplanned")  # no not-before: not on the calendar
    for i in range(3):
        bank.add_customer(f"P{i}")
    _job(bank, "chuseok-greeting", datetime(2026, 9, 25, 10, tzinfo=KST), None, "marketing")
    _job(bank, "card-statement", datetime(2026, 9, 23, 10, tzinfo=KST),
         datetime(2026, 9, 23, 12, tzinfo=KST), "card")  # fmt: skip
    _job(bank, "hangul-day", datetime(2026, 10, 9, 9, tzinfo=KST),
         datetime(2026, 10, 9, 10, tzinfo=KST), "card")  # fmt: skip
    extract_targets(bank.store, bank.settings, "chuseok-greeting", actor="author")
    return bank


@pytest.mark.parametrize(
    ("view", "day", "first", "last"),
    [
        ("day", date(2026, 9, 25), date(2026, 9, 25), date(2026, 9, 25)),
        ("week", date(2026, 9, 24), date(2026, 9, 21), date(2026, 9, 27)),
        ("week", date(2026, 9, 27), date(2026, 9, 21), date(2026, 9, 27)),  # a Sunday
        ("month", date(2026, 9, 24), date(2026, 9, 1), date(2026, 9, 30)),
        ("month", date(2026, 12, 31), date(2026, 12, 1), date(2026, 12, 31)),
        ("month", date(2028, 2, 10), date(2028, 2, 1), date(2028, 2, 29)),
    ],
)
def test_period_of(view: str, day: date, first: date, last: date) -> None:
    assert period_of(view, day) == (first, last)


def test_period_of_refuses_an_unknown_view() -> None:
    with pytest.raises(ValueError, match="view: 'year'"):
        period_of("year", date(2026, 9, 1))


def test_week_view_knows_chuseok_and_flags_the_job_on_it(planned: Any) -> None:
    with planned.store.reading() as session:
        cal = calendar_view(session, planned.settings, "week", date(2026, 9, 24))
    days = {d["date"]: d for d in cal["days"]}
    business = [d["business_day"] for d in cal["days"]]
    assert business == [True, True, True, False, False, False, False]  # Chuseok, weekend
    assert "추석" in days["2026-09-25"]["holiday"]
    assert days["2026-09-25"]["jobs"] == ["chuseok-greeting"]
    assert days["2026-09-23"]["jobs"] == ["card-statement"]
    events = {e["job_id"]: e for e in cal["events"]}
    assert set(events) == {"chuseok-greeting", "card-statement"}  # unplanned is not there
    greeting = events["chuseok-greeting"]
    assert greeting["flags"] == ["holiday:추석@2026-09-25"]
    assert greeting["estimated_end"] is True and greeting["count"] == 3
    assert greeting["start"] == "2026-09-25T10:00:00+09:00"
    # 3 messages at the default 100/s: the shortest event, 30 minutes
    assert greeting["end"] == "2026-09-25T10:30:00+09:00"
    assert events["card-statement"]["flags"] == []
    with planned.store.reading() as session:
        card_only = calendar_view(
            session, planned.settings, "month", date(2026, 10, 1), department="card"
        )
    assert [e["job_id"] for e in card_only["events"]] == ["hangul-day"]
    assert card_only["events"][0]["flags"] == ["holiday:한글날@2026-10-09"]


def _parsed(body: bytes) -> dict[str, Any]:
    feed = icalendar.Calendar.from_ical(body)
    return {str(e["uid"]): e for e in feed.walk("VEVENT")}


def test_ics_parses_back_with_one_event_per_job_and_the_holidays(planned: Any) -> None:
    with planned.store.reading() as session:
        body = calendar_feed(session, planned.settings, date(2026, 9, 1), date(2026, 10, 31))
        again = calendar_feed(session, planned.settings, date(2026, 9, 1), date(2026, 10, 31))
    assert body == again  # the same store gives the same feed
    events = _parsed(body)
    jobs = {uid: e for uid, e in events.items() if uid.startswith("job-")}
    assert set(jobs) == {job_uid(j) for j in ("chuseok-greeting", "card-statement", "hangul-day")}
    card = jobs[job_uid("card-statement")]
    assert card.decoded("dtstart") == datetime(2026, 9, 23, 10, tzinfo=KST)
    assert card.decoded("dtstart").tzinfo.key == "Asia/Seoul"
    assert card.decoded("dtend") == datetime(2026, 9, 23, 12, tzinfo=KST)
    assert "card-statement" in str(card["summary"])
    description = str(card["description"])
    for part in ("department: card", "purpose: informational", "count: unknown",
                 "status: registered"):  # fmt: skip
        assert part in description
    assert str(card["status"]) == "TENTATIVE"
    assert "count: 3" in str(jobs[job_uid("chuseok-greeting")]["description"])
    holidays = {e.decoded("dtstart"): str(e["summary"]) for u, e in events.items()
                if u.startswith("holiday-")}  # fmt: skip
    assert "추석" in holidays[date(2026, 9, 25)] and "한글날" in holidays[date(2026, 10, 9)]
    assert b"BEGIN:VTIMEZONE" in body and b"TZID:Asia/Seoul" in body
    with planned.store.reading() as session:
        bare = calendar_feed(
            session, planned.settings, date(2026, 9, 1), date(2026, 10, 31), with_holidays=False
        )
    assert all(uid.startswith("job-") for uid in _parsed(bare))


def test_a_moved_job_keeps_its_uid(planned: Any) -> None:
    new = datetime(2026, 9, 29, 10, tzinfo=KST)
    with planned.store.session() as session:
        reschedule(session, planned.settings, "card-statement", not_before=new,
                   must_end_by=new + timedelta(hours=2), actor="author")  # fmt: skip
        body = calendar_feed(session, planned.settings, date(2026, 9, 1), date(2026, 9, 30))
    moved = _parsed(body)[job_uid("card-statement")]
    assert moved.decoded("dtstart") == new


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(date(2026, 9, 30), date(2026, 9, 1), "to: 2026-09-01 is before"),
     (date(2026, 1, 1), date(2027, 6, 1), "at most 366 days")],
)  # fmt: skip
def test_feed_refuses_a_bad_range(planned: Any, start: date, end: date, message: str) -> None:
    with planned.store.reading() as session, pytest.raises(ValueError, match=message):
        calendar_feed(session, planned.settings, start, end)


@pytest.fixture
def client(planned: Any, grant: Any) -> Iterator[TestClient]:
    grant("viewer", "operator", department="*")
    grant("card-only", "author", department="card")  # a role, but not for every department

    def user_of(request: Request) -> str | None:
        return request.headers.get("x-test-user")  # the board's own login stands here

    app = Starlette(routes=calendar_routes(planned.store, planned.settings, user_of=user_of))
    with TestClient(app) as test_client:
        yield test_client


def test_routes_refuse_without_a_user_or_a_role(client: TestClient) -> None:
    assert client.get("/calendar").status_code == 401
    assert client.get("/calendar.ics").status_code == 401
    assert client.get("/calendar.json", headers={"x-test-user": "card-only"}).status_code == 403
    assert client.get("/calendar", headers={"x-test-user": "nobody"}).status_code == 403


def test_routes_serve_the_page_json_and_feed(client: TestClient) -> None:
    who = {"x-test-user": "viewer"}
    page = client.get("/calendar", params={"view": "month", "date": "2026-09-10"}, headers=who)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "chuseok-greeting 안내" in page.text and "추석" in page.text
    assert "view=week&amp;date=2026-09-01" in page.text  # links to the other views
    data = client.get("/calendar.json", params={"view": "day", "date": "2026-09-25"}, headers=who)
    assert [e["job_id"] for e in data.json()["events"]] == ["chuseok-greeting"]
    feed = client.get("/calendar.ics", params={"from": "2026-09-01", "to": "2026-10-31"},
                      headers=who)  # fmt: skip
    assert feed.headers["content-type"].startswith("text/calendar")
    assert job_uid("hangul-day") in _parsed(feed.content)
    bad = client.get("/calendar", params={"view": "year"}, headers=who)
    assert bad.status_code == 400 and "view: 'year'" in bad.text
    bad = client.get("/calendar.ics", params={"from": "26-09-01"}, headers=who)
    assert bad.status_code == 400 and "from: '26-09-01' is not a date" in bad.text


@pytest.mark.parametrize(
    ("start", "in_day", "not_in_day"),
    [
        # 07:30 KST is 22:30 UTC the day before: still the 25th in Korea
        (datetime(2026, 9, 25, 7, 30, tzinfo=KST), date(2026, 9, 25), date(2026, 9, 24)),
        # 23:50 KST on the 24th runs 30 minutes over midnight into the 25th
        (datetime(2026, 9, 24, 23, 50, tzinfo=KST), date(2026, 9, 25), date(2026, 9, 26)),
    ],
)
def test_day_views_follow_korea_time(
    bank: Any, start: datetime, in_day: date, not_in_day: date
) -> None:
    bank.register("seed")
    _job(bank, "edge", start, None, "card")
    with bank.store.reading() as session:
        inside = calendar_view(session, bank.settings, "day", in_day)
        outside = calendar_view(session, bank.settings, "day", not_in_day)
    assert [e["job_id"] for e in inside["events"]] == ["edge"]
    assert inside["days"][0]["jobs"] == ["edge"]
    assert outside["events"] == []
