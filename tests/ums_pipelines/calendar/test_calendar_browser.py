"""The calendar page as headless Chromium draws it: the month of Chuseok 2026 with two
jobs in conflict (red), a job on the holiday (flagged) and the holidays shaded; the
screenshot is kept in docs/img/calendar-month.png."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from PIL import Image

from ums_pipelines.calendar.check import check_job
from ums_pipelines.calendar.views import calendar_view
from ums_pipelines.calendar.web import render_page
from ums_pipelines.jobs import SendPlan, register_job

pytestmark = [
    pytest.mark.browser,
    # The page is under test; both store backends are covered by the other calendar tests.
    pytest.mark.parametrize("store_url", ["sqlite"], indirect=True),
]

KST = ZoneInfo("Asia/Seoul")
DOCS_IMG = Path(__file__).resolve().parents[3] / "docs" / "img"
CONFLICT_RED = (0x8B, 0x1E, 0x1E)  # .job.conflict in calendar.html.j2
CHIP_BLUE = (0x2A, 0x4D, 0x69)  # .job


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(datetime(2026, 9, 1, tzinfo=UTC), tick=True):
        yield


def _shoot(chromium: str, page: Path, png: Path, tmp_path: Path) -> None:
    cmd = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--no-first-run", "--disable-background-networking", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,1000",
        f"--screenshot={png}", page.as_uri(),
    ]  # fmt: skip
    # The timeout only stops a hung browser from hanging the suite; nothing is timed.
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def _count(image: Image.Image, colour: tuple[int, int, int]) -> int:
    rgb = image.convert("RGB")
    return sum(1 for pixel in rgb.getdata() if pixel == colour)


def test_month_page_draws_conflicts_and_holidays(bank: Any, chromium: str, tmp_path: Path) -> None:
    bank.register("seed")
    for job_id, day, hour in (("card-a", 23, 10), ("card-b", 23, 14), ("greeting", 25, 10)):
        with bank.store.session() as session:
            start = datetime(2026, 9, day, hour, tzinfo=KST)
            register_job(
                session, job_id=job_id, name=f"{job_id} 안내", template_code="tx-notice",
                routes={"default": ["sms"]}, sender_number="15881234", department="card",
                actor="author", plan=SendPlan(not_before=start),
            )  # fmt: skip
    with bank.store.session() as session:
        report = check_job(session, bank.settings, "card-b", actor="author")
        assert [c.other_job_id for c in report.conflicts] == ["card-a"]
        cal = calendar_view(session, bank.settings, "month", date(2026, 9, 1))
    html = render_page(cal)
    assert html.count('class="job ') == 3 and html.count(" conflict") == 2
    page = tmp_path / "calendar.html"
    page.write_text(html, encoding="utf-8")
    png = tmp_path / "calendar-month.png"
    _shoot(chromium, page, png, tmp_path)
    with Image.open(png) as image:
        assert image.size == (1400, 1000)
        assert _count(image, CONFLICT_RED) > 500  # the two conflicting jobs' chips
        assert _count(image, CHIP_BLUE) > 200  # the job on Chuseok, not in conflict
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        image.save(DOCS_IMG / "calendar-month.png")
