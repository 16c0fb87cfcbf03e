"""`ums calendar show|conflicts|ics|move|check`: role-checked, JSON and tables, the feed
to a file, a conflict printed as a warning (exit 0), bad input exit 2 naming the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.jobs import SendPlan, register_job

KST = ZoneInfo("Asia/Seoul")


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(datetime(2026, 9, 1, tzinfo=UTC), tick=True):
        yield


class Cli:
    def __init__(self, bank: Any) -> None:
        s = bank.settings
        self.env = {"UMS_HOME": str(s.home), "UMS_DATABASE_URL": s.store_url, "COLUMNS": "250"}
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0, **env: str) -> str:
        result = self.runner.invoke(app, list(args), env=self.env | env)
        assert result.exit_code == code, result.output
        return result.output


@pytest.fixture
def cli(bank: Any, cli_actor: str) -> Cli:
    bank.register("seed")
    for job_id, hour in (("card-a", 10), ("card-b", 14)):
        with bank.store.session() as session:
            start = datetime(2026, 9, 23, hour, tzinfo=KST)
            register_job(
                session, job_id=job_id, name=job_id, template_code="tx-notice",
                routes={"default": ["sms"]}, sender_number="15881234", department="card",
                actor="author", plan=SendPlan(not_before=start), settings=bank.settings,
            )  # fmt: skip
    return Cli(bank)


def test_show_json_and_table(cli: Cli) -> None:
    cal = json.loads(cli("calendar", "show", "--week", "2026-09-24", "--json"))
    assert cal["from"] == "2026-09-21" and cal["to"] == "2026-09-27"
    assert [e["job_id"] for e in cal["events"]] == ["card-a", "card-b"]
    assert [c["kind"] for c in cal["conflicts"]] == ["purpose"]  # both informational that day
    text = cli("calendar", "show", "--day", "2026-09-25")
    assert "추석" in text
    cli("calendar", "show", "--day", "2026-09-25", "--month", "2026-09-01", code=2)
    assert "not a date" in cli("calendar", "show", "--month", "September", code=2)


def test_conflicts_lists_both_jobs_and_the_slot(cli: Cli) -> None:
    (row,) = json.loads(cli("calendar", "conflicts", "--json"))
    assert row["jobs"] == ["card-a", "card-b"] and row["kind"] == "purpose"
    assert row["suggested"][0].startswith("2026-09-28T09:00")  # after Chuseok and the weekend
    assert "card-a ↔ card-b" in cli("calendar", "conflicts")


def test_move_prints_conflicts_and_check_resolves(cli: Cli) -> None:
    out = cli("calendar", "move", "card-b", "--not-before", "2026-09-28T09:00+09:00")
    assert "moved" in out and "no conflicts" in out
    assert json.loads(cli("calendar", "conflicts", "--json")) == []
    out = cli("calendar", "move", "card-b", "--not-before", "2026-09-23T15:00+09:00")
    assert "conflict card-b and card-a: purpose conflict" in " ".join(out.split())
    assert "nearest free slot" in out
    assert "no time zone" in cli("calendar", "move", "card-b", "--not-before", "2026-09-23T15:00",
                                 code=2)  # fmt: skip
    assert "no job 'nope'" in cli("calendar", "move", "nope", "--not-before",
                                  "2026-09-28T09:00+09:00", code=2)  # fmt: skip
    assert "purpose conflict" in cli("calendar", "check", "card-a")
    out = cli("calendar", "move", "card-b", "--not-before", "2026-09-25T10:00+09:00")
    assert "planned on holiday:추석@2026-09-25" in out and "no conflicts" in out


def test_ics_to_a_file(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "ums.ics"
    cli("calendar", "ics", "--from", "2026-09-01", "--to", "2026-09-30", "--out", str(out))
    feed = icalendar.Calendar.from_ical(out.read_bytes())
    uids = sorted(str(e["uid"]) for e in feed.walk("VEVENT"))
    assert "job-card-a@calendar.ums" in uids and "job-card-b@calendar.ums" in uids
    assert any(u.startswith("holiday-2026-09-25") for u in uids)
    stdout = cli("calendar", "ics", "--from", "2026-09-01", "--to", "2026-09-30", "--no-holidays")
    assert stdout.startswith("BEGIN:VCALENDAR") and "holiday-" not in stdout
    assert "before from" in cli("calendar", "ics", "--from", "2026-09-30", "--to", "2026-09-01",
                                code=2)  # fmt: skip


def test_refused_without_a_role(cli: Cli) -> None:
    out = cli("calendar", "show", "--actor", "stranger", code=1)
    assert "refused" in out and "calendar.show" in out
    out = cli("calendar", "move", "card-b", "--not-before", "2026-09-28T09:00+09:00",
              "--actor", "stranger", code=1)  # fmt: skip
    assert "calendar.move" in out
