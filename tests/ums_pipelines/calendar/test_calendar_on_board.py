"""The calendar mounted on the screen board (``web.board_routes`` in the board's
``extra_routes``): behind the board's personal tokens, linked from its nav bar."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from starlette.testclient import TestClient

from ums_pipelines.board.auth import issue_token
from ums_pipelines.board.server import create_app
from ums_pipelines.calendar.web import board_routes
from ums_pipelines.compliance.roles import revoke_role
from ums_pipelines.jobs import SendPlan, register_job

KST = ZoneInfo("Asia/Seoul")


def basic(user: str, token: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{token}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(datetime(2026, 9, 1, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def board(bank: Any, grant: Callable[..., None]) -> tuple[TestClient, dict[str, str]]:
    bank.register("seed")
    with bank.store.session() as session:
        register_job(
            session, job_id="card-0923", name="카드 명세서", template_code="tx-notice",
            routes={"default": ["sms"]}, sender_number="15881234", department="card",
            actor="author", plan=SendPlan(not_before=datetime(2026, 9, 23, 10, tzinfo=KST)),
        )  # fmt: skip
    grant("lee", "auditor")
    with bank.store.session() as session:
        _, token = issue_token(session, "lee", "ops wall", issued_by="admin-kim")
    app = create_app(
        bank.store, bank.settings, extra_routes=board_routes(bank.store, bank.settings)
    )
    return TestClient(app), basic("lee", token)


def test_the_board_links_and_serves_the_calendar(board: tuple[TestClient, dict[str, str]]) -> None:
    client, login = board
    page = client.get("/", headers=login)
    assert page.status_code == 200 and 'href="/calendar"' in page.text
    week = client.get("/calendar", params={"date": "2026-09-23"}, headers=login)
    assert week.status_code == 200 and "카드 명세서" in week.text
    feed = client.get("/calendar.ics", params={"from": "2026-09-01", "to": "2026-09-30"},
                      headers=login)  # fmt: skip
    uids = [str(e["uid"]) for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")]
    assert "job-card-0923@calendar.ums" in uids


def test_the_calendar_keeps_the_boards_login(
    board: tuple[TestClient, dict[str, str]], bank: Any
) -> None:
    client, login = board
    for headers in ({}, basic("lee", "wrong"), {"Authorization": "Bearer nope"}):
        response = client.get("/calendar.json", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith('Basic realm="UMS board"')
    with bank.store.session() as session:
        revoke_role(session, "lee", "auditor", "*", revoked_by="admin-kim")
    assert client.get("/calendar.json", headers=login).status_code == 403
