"""Issue 9, done-when 1: with the simulator failing 30 % of one provider's messages, an
alert reaches the on-call SMS (accepted by the simulator) and the webhook within 60 s,
is not repeated more often than its interval, and clears when the fault stops.

Everything runs for real: a send agent serves real-time push traffic and the on-call
messages, the simulator fails 30 % of push (FCM) and nothing else, the evaluator ticks
every second, and a local HTTP server takes the webhook (its first call answered 503).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from ums_pipelines.alerts import run_alerts
from ums_pipelines.alerts.oncall import add_contact
from ums_pipelines.dispatch.agent import AgentConfig, start_agent
from ums_pipelines.dispatch.intake import submit
from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig
from ums_pipelines.store.alerts import AlertNotification
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Message

KEY = "success_rate_drop:sim-fcm/push"
ONCALL_PHONE = "01099990001"
SECRET = "test-webhook-secret"
REPEAT_S = 6
FAULTY = SimConfig(
    latency_ms=(0, 0), receipt_delay_ms=0, failure_rate=0.0, kakao_non_user_rate=0.0,
    failure_rates={"push": 0.3},
)  # fmt: skip
HEALTHY = FAULTY.model_copy(update={"failure_rates": {}})


class _Hook(BaseHTTPRequestHandler):
    calls: list[tuple[float, dict[str, str], bytes]]
    refused: list[int]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if not self.refused:  # the first delivery is refused once: it must be retried
            self.refused.append(1)
            self.send_response(503)
            self.end_headers()
            return
        self.calls.append((time.monotonic(), dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"calls": [], "refused": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts", handler
    server.shutdown()
    server.server_close()


class _Traffic:
    """Real-time push requests at ~25/s from a thread, until stopped."""

    def __init__(self, bank: Any, customers: list[str]) -> None:
        self.bank, self.customers, self.n = bank, customers, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            submit(
                self.bank.store, self.bank.settings, caller="core", caller_key=f"r{self.n}",
                customer_id=self.customers[self.n % len(self.customers)],
                template_code="tx-notice", lane="transactional", chain=["push"],
            )  # fmt: skip
            self.n += 1
            time.sleep(0.04)

    def __enter__(self) -> _Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _notes(bank: Any) -> list[AlertNotification]:
    with bank.store.reading() as session:
        return list(session.scalars(select(AlertNotification).order_by(AlertNotification.seq)))


def _tick_until(bank: Any, done: Any, seconds: float, ticks: list[float]) -> None:
    """Run the evaluator every second (its schedule here) until ``done()``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run_alerts(bank.store, bank.settings)
        ticks.append(time.monotonic())
        if done():
            return
        time.sleep(1.0)
    raise AssertionError(f"not done within {seconds} s")


def test_alert_reaches_oncall_and_webhook_repeats_on_interval_and_clears(
    bank: Any, webhook: tuple[str, type[_Hook]], tmp_path: Path
) -> None:
    url, hook = webhook
    ledger = tmp_path / "ledger.db"
    sim = GatewaySimulator(FAULTY, ledger_path=ledger).start()
    ports = (sim.port, sim.smtp_port)
    bank.settings = bank.settings.model_copy(
        update={
            "gateway_url": sim.base_url, "smtp_port": sim.smtp_port,
            "alert_success_window_s": 15, "alert_success_min_sample": 20,
            "alert_success_threshold": 0.9, "alert_repeat_interval_s": REPEAT_S,
            "alert_webhook_url": url, "alert_webhook_secret": SecretStr(SECRET),
        }
    )  # fmt: skip
    customers = [f"P{i:03d}" for i in range(40)]
    for i, cid in enumerate(customers):
        bank.add_customer(cid, preferred="push", push_token=f"token-{i}")
    bank.register()
    with bank.store.session() as session:
        add_contact(
            session, name="당직자", phone="010-9999-0001", email="oncall@example.com",
            actor="ops", now=utcnow(),
        )  # fmt: skip
    loop = asyncio.new_event_loop()
    config = AgentConfig(lease_seconds=5, tick_s=0.1, receipts_every_s=0.3, inbox_every_s=0)
    agent, task = loop.run_until_complete(_start(bank, config))
    runner = threading.Thread(target=loop.run_until_complete, args=(task,), daemon=True)
    runner.start()
    ticks: list[float] = []
    try:
        with _Traffic(bank, customers):
            start = time.monotonic()
            first_failure = None

            def reached() -> bool:
                nonlocal first_failure
                if first_failure is None and _failed_push(bank):
                    first_failure = time.monotonic()
                sms = [m for m in sim.ledger.messages("sms") if m.recipient == ONCALL_PHONE]
                return bool(sms) and bool(hook.calls)

            _tick_until(bank, reached, 60, ticks)
            reached_at = time.monotonic()
            assert first_failure is not None
            # From the first failure to the on-call SMS accepted and the webhook received.
            assert reached_at - first_failure < 60
            assert reached_at - start < 60
            print(f"on-call SMS and webhook {reached_at - first_failure:.1f} s after first failure")
            (sms,) = [m for m in sim.ledger.messages("sms") if m.recipient == ONCALL_PHONE]
            assert "sim-fcm/push" in sms.body and "발생" in sms.body
            raised = _notes(bank)[0]
            assert raised.kind == "raised" and raised.webhook_state == "sent"
            assert raised.webhook_attempts == 2  # the 503, then the retry

            # The fault lasts: ticks every second, a repeat only after the interval.
            _tick_until(bank, lambda: len(_notes(bank)) >= 2, 3 * REPEAT_S, ticks)
            first, repeat = _notes(bank)[:2]
            assert repeat.kind == "repeat"
            gap = (repeat.created_at - first.created_at).total_seconds()
            assert gap >= REPEAT_S
            assert sum(t > start for t in ticks) > REPEAT_S  # many ticks, one repeat

            # The fault stops (the provider restarts healthy, same ledger): it clears.
            sim.stop()
            sim = GatewaySimulator(HEALTHY, port=ports[0], smtp_port=ports[1], ledger_path=ledger)
            sim.start()
            _tick_until(bank, lambda: _notes(bank)[-1].kind == "cleared", 45, ticks)
            mails = [m for m in sim.ledger.messages("email") if m.recipient == "oncall@example.com"]
    finally:
        loop.call_soon_threadsafe(agent.stop)
        runner.join(30)
        loop.close()
        sim.stop()
    kinds = [n.kind for n in _notes(bank)]
    assert kinds[0] == "raised" and kinds[-1] == "cleared"
    assert set(kinds[1:-1]) == {"repeat"}
    created = [n.created_at for n in _notes(bank)]
    assert all((b - a).total_seconds() >= REPEAT_S for a, b in pairwise(created[:-1]))
    # Every notification reached the webhook once, signed over its exact body.
    bodies = [json.loads(body) for _, _, body in hook.calls]
    assert [b["kind"] for b in bodies] == kinds
    for _, headers, body in hook.calls:
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-UMS-Signature"] == f"sha256={expected}"
    assert bodies[-1]["alert"]["state"] == "cleared"
    assert mails, "the on-call e-mail went out too"


async def _start(bank: Any, config: AgentConfig) -> Any:
    agent, task = start_agent(bank.store, bank.settings, config)
    await asyncio.wait_for(agent.started.wait(), 10)
    return agent, task


def _failed_push(bank: Any) -> bool:
    with bank.store.reading() as session:
        return (
            session.scalar(
                select(Message.id)
                .where(Message.channel == "push", Message.state == "failed")
                .limit(1)
            )
            is not None
        )
