"""Done-when 3 of the content bank: a short link clicked in headless Chromium follows
the redirect, and the click is in the response data for that customer and message.

Real servers on loopback (the redirect service and a landing page, each uvicorn in a
thread); a job whose content has a short-URL tag, enqueued, so rendering writes the
outbox row and its link; and a page holding the link from the rendered message text,
whose script clicks it, opened by Chromium with ``--dump-dom``: the DOM it prints is
the page it ended on.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ums_pipelines.content.spec import VariableKind, VariableSpec
from ums_pipelines.dispatch.outbox import enqueue_job
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.shortlinks.codes import is_code
from ums_pipelines.shortlinks.server import create_app
from ums_pipelines.shortlinks.store import responses
from ums_pipelines.store.models import Message

pytestmark = [
    pytest.mark.browser,
    # The browser's path is under test; both store backends are covered in test_store.py.
    pytest.mark.parametrize("store_url", ["sqlite"], indirect=True),
]

LANDING = "<!doctype html><html><body><h1 id='landing'>landing ok</h1></body></html>"


def _dump_dom(chromium: str, tmp_path: Path, url: str) -> str:
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-proxy-server",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        # Virtual time waits for pending loads, so the redirect and the landing page
        # load before the DOM is dumped.
        "--virtual-time-budget=10000",
        "--dump-dom",
        url,
    ]
    # The timeout only stops a hung browser from hanging the suite; nothing is timed.
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@contextmanager
def _serving(app: Starlette) -> Iterator[str]:
    """``app`` on a free loopback port in a thread; yields its base URL."""
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        # The deadline only stops a broken start from hanging the suite.
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the server stopped during start-up"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class _Landing:
    """The bank's page a link leads to; it notes the user agents that reached it."""

    def __init__(self) -> None:
        self.agents: list[str] = []

    async def page(self, request: Request) -> Response:
        self.agents.append(request.headers.get("user-agent", ""))
        return HTMLResponse(LANDING)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/autumn-event", self.page, methods=["GET"])])


def _rendered_message(bank: Any, link_base: str, landing_base: str) -> tuple[Message, str]:
    """A job whose content has a short-URL tag, enqueued: rendering makes C42's message
    and writes its short link in the same transaction. Returns the row and its link."""
    bank.add_customer("C42", preferred="sms", phone="01077778888", branch="강남지점")
    bank.add_customer("C43", preferred="sms", phone="01077779999", branch="분당지점")
    variables = [
        VariableSpec(name="name", kind=VariableKind.CUSTOMER),
        VariableSpec(
            name="event_link",
            kind=VariableKind.SHORT_URL,
            target=landing_base + "/autumn-event?branch={{ branch }}",
        ),
        VariableSpec(name="branch", kind=VariableKind.CUSTOMER),
    ]
    bank.settings = bank.settings.model_copy(update={"shortlink_base_url": link_base + "/"})
    job_id = bank.targeted(
        template_code="autumn-event",
        variables=variables,
        variants=[ChannelVariant("sms", "[UMS은행] {{ name }}님 혜택 {{ event_link }}")],
        routes={"default": ["sms"]},
    )
    result = enqueue_job(bank.store, bank.settings, job_id)
    assert (result.created, result.render_failed) == (2, 0)
    message = next(m for m in bank.messages(job_id) if m.customer_id == "C42")
    [code] = re.findall(re.escape(link_base) + r"/(\w+)", message.body)
    assert is_code(code)
    return message, f"{link_base}/{code}"


def test_a_click_in_chromium_is_followed_and_recorded(
    bank: Any, tmp_path: Path, chromium: str
) -> None:
    landing = _Landing()
    with _serving(landing.app()) as landing_base, _serving(create_app(bank.store)) as link_base:
        message, link = _rendered_message(bank, link_base, landing_base)
        page = tmp_path / "message.html"
        page.write_text(
            "<!doctype html><html><body><p id='message'>the message</p>"
            f'<a id="l" href="{link}">혜택 보기</a>'
            "<script>window.onload = () => document.getElementById('l').click();</script>"
            "</body></html>",
            encoding="utf-8",
        )
        dom = _dump_dom(chromium, tmp_path, page.as_uri())
    assert "landing ok" in dom and "the message" not in dom
    assert len(landing.agents) == 1
    with bank.store.reading() as session:
        [click] = responses(session, customer_id="C42")
        assert responses(session, customer_id="C43") == []  # C43's own link, not clicked
        assert len(responses(session, job_id=message.job_id)) == 1
    assert (click.customer_id, click.job_id, click.message_key) == (
        "C42",
        message.job_id,
        message.idempotency_key,
    )
    assert (click.message_id, click.channel, click.message_type, click.leg) == (
        message.id,
        "sms",
        message.message_type,
        0,
    )
    # The target was rendered for C42 (their branch), and reached by the browser.
    assert click.kind == "link"
    assert click.target_url == f"{landing_base}/autumn-event?branch=강남지점"
    assert click.user_agent is not None and "Chrome/" in click.user_agent
    assert click.user_agent == landing.agents[0]  # the browser that followed the redirect
