"""Issue 9, done-when 2: the screen board in headless Chromium during a running job shows
per-stage counts that match the store, and updates itself without a reload.

Chromium is driven over the DevTools protocol (a WebSocket): the board's credential is
sent as an extra header, the page is asked to refresh (``window.boardRefresh``) and read
back. The count comparison stops the store's writers for its duration (SQLite: the write
lock; PostgreSQL: an EXCLUSIVE lock on messages and delivery_events, which lets reads
through): the senders and receipt pollers of the running job wait, as they do behind any
writer, while the store is counted and the board takes its snapshot, so both see the
same moment. The job carries on afterwards; a marker set on ``window`` after the first
load and the page request count show that the later redraws came without a reload.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Connection, create_engine, func, select
from websockets.sync.client import ClientConnection, connect

from ums_pipelines.board.auth import issue_token
from ums_pipelines.board.server import create_app
from ums_pipelines.compliance.roles import revoke_role
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.monitoring.snapshot import day_start
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import DeliveryEvent, Job, Message
from ums_pipelines.store.sendplane import JobChunk

M = Message

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1600, 1300
REFRESH_S = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Any, timeout: float, what: str) -> Any:
    # The timeout only stops a hung test; nothing is timed.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Cdp:
    """A minimal DevTools client: one page session, commands answered in order."""

    def __init__(self, ws: ClientConnection, session: str = "") -> None:
        self.ws, self.session, self.n = ws, session, 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.n += 1
        msg: dict[str, Any] = {"id": self.n, "method": method, "params": params}
        if self.session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            data = json.loads(self.ws.recv(timeout=120))
            if data.get("id") == self.n:
                assert "error" not in data, data
                return dict(data["result"])

    def js(self, expression: str, wait: bool = False) -> Any:
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=wait
        )
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")


class Counting:
    """The ASGI app, counting requests per path (a reload would GET / again)."""

    def __init__(self, app: Any) -> None:
        self.app, self.hits = app, Counter[str]()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.hits[scope["path"]] += 1
        await self.app(scope, receive, send)


@pytest.fixture
def board(sim_bank: Any, grant: Any) -> Iterator[tuple[str, str, Counting]]:
    """The board on a free port, and a staff user's credential (HTTP Basic)."""
    bank = sim_bank
    bank.settings = bank.settings.model_copy(update={"monitoring_board_refresh_s": REFRESH_S})
    grant("ops-wall", "operator")
    with bank.store.session() as session:
        _, token = issue_token(session, "ops-wall", "test screen", issued_by="admin-kim")
    app = Counting(create_app(bank.store, bank.settings, cache_s=0))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 30, "the board server")
    auth = "Basic " + base64.b64encode(f"ops-wall:{token}".encode()).decode()
    yield f"http://127.0.0.1:{port}/", auth, app
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[ClientConnection]:
    proc = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", f"--window-size={WIDTH},{HEIGHT}",
         f"--user-data-dir={tmp_path / 'profile'}", "about:blank"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    url = None
    for line in proc.stderr:
        if line.startswith("DevTools listening on "):
            url = line.split(" on ", 1)[1].strip()
            break
    assert url, "Chromium printed no DevTools address"
    try:
        with connect(url, max_size=None, open_timeout=60, ping_interval=None) as ws:
            yield ws
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def writers_stopped(url: str) -> Iterator[Connection]:
    """A connection whose transaction keeps every writer of the outbox waiting."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA busy_timeout=60000")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")
                conn.exec_driver_sql("LOCK TABLE messages, delivery_events IN EXCLUSIVE MODE")
            try:
                yield conn
            finally:
                conn.exec_driver_sql("COMMIT")
    finally:
        engine.dispose()


def store_counts(conn: Connection, since: datetime) -> dict[str, Counter[str]]:
    """Each row's stage decided row by row in the caller's (locked) transaction."""
    events = select(DeliveryEvent.message_id).where(DeliveryEvent.stage == "carrier")
    carried = set(conn.execute(events).scalars())
    per: dict[str, Counter[str]] = {"*": Counter()}
    rows = conn.execute(select(M.id, M.state, M.channel, M.next_leg_id, M.updated_at)).all()
    for mid, state, channel, next_leg, updated in rows:
        stage = state
        if state == "accepted":
            stage = "carrier" if mid in carried else "submitted"
        elif state in ("delivered", "failed", "expired", "cancelled") and as_utc(updated) < since:
            continue
        elif state == "failed" and next_leg is not None:
            stage = "fell_back"
        per["*"][stage] += 1
        per.setdefault(channel, Counter())[stage] += 1
    return per


READ_DOM = """JSON.stringify([...document.querySelectorAll('#stage-table td[data-stage]')]
  .map(td => [td.dataset.channel, td.dataset.stage, td.textContent]))"""


def dom_counts(page: Cdp) -> dict[str, Counter[str]]:
    per: dict[str, Counter[str]] = {}
    for channel, stage, text in json.loads(page.js(READ_DOM)):
        value = int(text.replace(",", ""))
        if value:
            per.setdefault(channel, Counter())[stage] = value
    return per


def test_board_during_a_running_job_matches_the_store(
    sim_bank: Any, board: tuple[str, str, Counting], browser: ClientConnection, tmp_path: Path
) -> None:
    bank = sim_bank
    url, auth, app = board
    bank.add_mixed(400)
    job_id = bank.targeted()
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.chunk_size, job.pace_per_s = 25, 25.0  # paced: it runs for a while
    # The page is open before the job starts: a slow browser start cannot let it finish.
    cdp = Cdp(browser)
    target = cdp.call("Target.createTarget", url="about:blank")["targetId"]
    session = cdp.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    page = Cdp(browser, session)
    page.n = cdp.n + 100
    page.call("Network.enable")
    page.call("Network.setExtraHTTPHeaders", headers={"Authorization": auth})
    page.call("Page.enable")
    page.call("Page.navigate", url=url)
    wait_for(lambda: page.js("Number(document.body?.dataset.refreshes || 0)") >= 1, 60, "load")
    page.js("window.__marker = 'set-after-load'")
    first_taken = page.js("document.getElementById('updated-at').dateTime")
    dispatcher = Dispatcher(bank.store, bank.settings, tick=0.05)
    sender = threading.Thread(target=lambda: asyncio.run(dispatcher.run_job(job_id, 300)))
    sender.start()
    try:
        wait_for(lambda: _count(bank, M.state == "delivered") >= 20, 120, "some delivered")
        with writers_stopped(bank.settings.store_url) as conn:  # the job's writers wait
            locked_at = datetime.now(UTC)
            want = store_counts(conn, day_start(locked_at, bank.settings))
            taken = page.js("window.boardRefresh()", wait=True)
            got = dom_counts(page)
            status = conn.execute(select(Job.status).where(Job.job_id == job_id)).one()
        assert taken is not None and datetime.fromisoformat(taken) >= locked_at
        assert status[0] not in ("done", "partial", "cancelled", "stopped"), status
        assert sender.is_alive(), "the job was not running"
        assert {k: +v for k, v in want.items()} == got
        # mid-job: several stages at once, e.g. claimed, submitted, delivered, fell back
        assert want["*"]["delivered"] >= 20 and len(+want["*"]) >= 4, want["*"]
        in_flight = sum(want["*"][s] for s in ("queued", "claimed", "submitted"))
        assert in_flight > 0 or _unwritten(bank, job_id) > 0

        size = page.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": WIDTH, "height": size["height"], "scale": 1}
        shot = page.call(
            "Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip
        )["data"]
        png = base64.b64decode(shot)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
        (tmp_path / "board.png").write_bytes(png)
        if os.environ.get("UMS_BOARD_SCREENSHOT"):  # docs/img/board.png is made this way
            Path(os.environ["UMS_BOARD_SCREENSHOT"]).write_bytes(png)

        # Left alone, the page redraws itself: later snapshots, the same document.
        before = page.js("window.boardState.refreshes")
        wait_for(lambda: page.js("window.boardState.refreshes") >= before + 2, 60, "refreshes")
        assert page.js("window.__marker") == "set-after-load"
        assert page.js("document.getElementById('updated-at').dateTime") != first_taken
        assert page.js("performance.getEntriesByType('navigation').length") == 1
        assert app.hits["/"] == 1 and app.hits["/api/snapshot"] >= before + 2
        assert page.js("document.getElementById('stale').hidden") is True

        # Revoking the role closes the screen at its next refresh: stale, numbers kept.
        with bank.store.session() as s:
            revoke_role(s, "ops-wall", "operator", "*", revoked_by="admin-kim")
        assert page.js("window.boardRefresh()", wait=True) is None
        assert page.js("document.getElementById('stale').hidden") is False
        assert dom_counts(page)["*"]["delivered"] > 0
    finally:
        sender.join(timeout=300)
    assert not sender.is_alive()


def _count(bank: Any, *where: Any) -> int:
    with bank.store.reading() as session:
        return int(session.scalar(select(func.count()).select_from(M).where(*where)) or 0)


def _unwritten(bank: Any, job_id: str) -> int:
    with bank.store.reading() as session:
        query = select(func.count()).where(JobChunk.job_id == job_id, JobChunk.state != "enqueued")
        return int(session.scalar(query) or 0)
