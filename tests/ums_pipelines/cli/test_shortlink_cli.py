"""``shortlink serve|clicks`` through Typer's runner, and serve as a real process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ums_pipelines.cli.shortlink import shortlink_app
from ums_pipelines.dispatch.outbox import enqueue_job
from ums_pipelines.shortlinks.store import insert_links, link_row, record_click
from ums_pipelines.store import utcnow
from ums_pipelines.store.models import Message

PHONE = "01055557777"
NAME = "박서준"


def env(bank: Any) -> dict[str, str]:
    return {"UMS_HOME": str(bank.settings.home), "UMS_DATABASE_URL": bank.settings.store_url}


def clicked_message(bank: Any) -> tuple[Message, str]:
    """A real outbox row for customer C7, a short link in it, and one click on it."""
    bank.add_customer("C7", preferred="sms", phone=PHONE, name=NAME)
    job_id = bank.targeted(routes={"default": ["sms"]})
    enqueue_job(bank.store, bank.settings, job_id)
    [message] = bank.messages(job_id)
    now = utcnow()
    row = link_row(
        message_key=message.idempotency_key,
        position=0,
        kind="link",
        job_id=job_id,
        customer_id="C7",
        target_url=f"https://bank.example/event?tel={PHONE}",
        now=now,
        expires_at=now + timedelta(days=1),
    )
    with bank.store.session() as session:
        insert_links(session, [row])
        record_click(session, row["code"], "Mozilla/5.0 (iPhone) TestAgent", now)
    return message, str(row["code"])


def test_clicks_as_json_per_customer_job_and_message(bank: Any) -> None:
    message, _code = clicked_message(bank)
    runner = CliRunner()
    for args in (
        ["--customer", "C7"],
        ["--job", message.job_id],
        ["--message-key", message.idempotency_key],
    ):
        result = runner.invoke(shortlink_app, ["clicks", *args, "--json"], env=env(bank))
        assert result.exit_code == 0, result.output
        [row] = json.loads(result.output)
        assert (row["customer_id"], row["message_id"], row["channel"]) == ("C7", message.id, "sms")
        assert (row["leg"], row["kind"]) == (0, "link")
        assert row["user_agent"] == "Mozilla/5.0 (iPhone) TestAgent"
        assert row["clicked_at"].endswith("+09:00")  # the bank's business zone
        assert PHONE not in result.output and "5555" not in row["target_url"]
    other = runner.invoke(shortlink_app, ["clicks", "--customer", "C8", "--json"], env=env(bank))
    assert (other.exit_code, json.loads(other.output)) == (0, [])


def test_clicks_table_shows_ids_but_no_personal_data(bank: Any) -> None:
    message, _code = clicked_message(bank)
    result = CliRunner().invoke(shortlink_app, ["clicks", "--customer", "C7"], env=env(bank))
    assert result.exit_code == 0, result.output
    assert "C7" in result.output and message.job_id in result.output
    assert f" {message.id} " in result.output and "TestAgent" in result.output
    assert "1 click(s)" in result.output
    assert PHONE not in result.output and NAME not in result.output


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_clicks_needs_a_filter(bank: Any) -> None:
    result = CliRunner().invoke(shortlink_app, ["clicks"], env=env(bank))
    assert result.exit_code == 2
    assert "--customer, --job or --message-key" in result.output


def test_serve_refuses_an_unmigrated_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = CliRunner().invoke(
        shortlink_app,
        ["serve", "--actor", "ops"],
        env={"UMS_HOME": str(tmp_path), "UMS_DATABASE_URL": url},
    )
    assert result.exit_code == 2
    assert "ums db upgrade" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_serve_runs_the_redirect_service(bank: Any) -> None:
    message, code = clicked_message(bank)
    port = _free_port()
    launch = "from ums_pipelines.cli.shortlink import shortlink_app; shortlink_app()"
    proc = subprocess.Popen(
        [sys.executable, "-c", launch, "serve", "--port", str(port)],
        env={**os.environ, **env(bank), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Polls until the server answers; the deadline only stops a broken start hanging.
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.1)
        response = httpx.get(f"{base}/{code}", headers={"User-Agent": "ServeTest/1"})
        assert response.status_code == 302
        assert response.headers["location"] == f"https://bank.example/event?tel={PHONE}"
        assert httpx.get(f"{base}/ABCDEFGHJKMN").status_code == 404
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert f"short-link redirect service on {base}" in out
    assert code not in out + err  # no access log
    result = CliRunner().invoke(
        shortlink_app, ["clicks", "--message-key", message.idempotency_key, "--json"], env=env(bank)
    )
    agents = [row["user_agent"] for row in json.loads(result.output)]
    assert agents == ["Mozilla/5.0 (iPhone) TestAgent", "ServeTest/1"]
