"""Send-side faults as a client sees them: 503, timeouts, connection resets, 429 bursts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ums_pipelines.gateway_sim import Ledger, SimConfig, create_app
from ums_pipelines.gateway_sim.config import SendFaults

# Fixture types; the class itself lives in conftest.py, which is not importable.
Api = Any
ApiFor = Callable[..., Any]


def _send_each(api: Api, keys: list[str]) -> dict[str, Any]:
    """One single-message SMS batch per key: its response, or the transport error."""
    outcome: dict[str, Any] = {}
    for key in keys:
        try:
            outcome[key] = api.http.post(api.sms_path, json={"messages": [api.sms(key)]})
        except httpx.TransportError as exc:
            outcome[key] = exc
    return outcome


def test_5xx_share_records_nothing(api_for: ApiFor, prefix: str) -> None:
    flaky = api_for(error_rate_5xx=0.2)
    keys = [f"{prefix}{n}" for n in range(300)]
    outcome = _send_each(flaky, keys)
    failed = {k for k, r in outcome.items() if r.status_code == 503}
    assert 0.12 * 300 < len(failed) < 0.28 * 300
    assert all(outcome[k].headers["Retry-After"] == "1" for k in failed)
    assert all(r.status_code in (200, 503) for r in outcome.values())
    assert {r["clientKey"] for r in flaky.rows(prefix)} == set(keys) - failed


def test_timeout_records_then_a_resend_is_a_duplicate(api_for: ApiFor, prefix: str) -> None:
    slow = api_for(timeout_rate=0.1, hang_ms=5_000)
    slow.http.timeout = httpx.Timeout(0.1)
    keys = [f"{prefix}{n}" for n in range(200)]
    outcome = _send_each(slow, keys)
    timed_out = [k for k, r in outcome.items() if isinstance(r, httpx.TimeoutException)]
    assert 0.05 * 200 < len(timed_out) < 0.15 * 200
    assert all(outcome[k].status_code == 200 for k in set(keys) - set(timed_out))
    # The ambiguous case: the client heard nothing, but the provider has the message.
    # (Ledger reads get a normal timeout: 0.1 s is for the sends, and a loaded machine
    # once took longer than that to list the ledger.)
    slow.http.timeout = httpx.Timeout(10)
    assert {r["clientKey"] for r in slow.rows(prefix)} == set(keys)
    slow.http.timeout = httpx.Timeout(0.1)
    resent = 0
    for key in timed_out:
        while True:
            resent += 1
            try:
                (result,) = slow.send_sms(slow.sms(key))
            except httpx.TimeoutException:
                continue
            assert result["status"] == "duplicate"
            break
    slow.http.timeout = httpx.Timeout(10)
    counts = slow.summary(prefix)["sms"]
    assert (counts["accepted"], counts["duplicates_ignored"]) == (200, resent)
    assert len(slow.rows(prefix)) == 200


def test_push_timeout_then_resend(api_for: ApiFor, prefix: str) -> None:
    faults = {"push": SendFaults(timeout_rate=1.0, hang_ms=5_000)}
    slow = api_for(endpoint_faults=faults)
    slow.http.timeout = httpx.Timeout(0.1)
    for _ in range(2):
        with pytest.raises(httpx.ReadTimeout):
            slow.send_push(f"{prefix}p")
    # Only the push endpoint hangs.
    assert slow.send_sms(slow.sms(f"{prefix}s"))[0]["status"] == "accepted"
    counts = slow.summary(prefix)["push"]
    assert (counts["accepted"], counts["duplicates_ignored"]) == (1, 1)


def test_resets_are_transport_errors_half_of_them_recorded(api_for: ApiFor, prefix: str) -> None:
    flaky = api_for(reset_rate=0.2, reset_accepts="half")
    keys = [f"{prefix}{n}" for n in range(300)]
    outcome = _send_each(flaky, keys)
    reset = {k for k, r in outcome.items() if isinstance(r, Exception)}
    assert all(isinstance(outcome[k], httpx.TransportError) for k in reset)
    # Never an HTTP answer: no 500s, only 200s and dropped connections.
    assert all(r.status_code == 200 for k, r in outcome.items() if k not in reset)
    assert 0.12 * 300 < len(reset) < 0.28 * 300
    recorded = {r["clientKey"] for r in flaky.rows(prefix)}
    lost = set(keys) - recorded
    assert lost <= reset
    assert 0.25 * len(reset) < len(lost) < 0.75 * len(reset)
    # Resending every reset key until answered leaves each message recorded once.
    for key in sorted(reset):
        while isinstance(answer := _send_each(flaky, [key])[key], Exception):
            pass
        (result,) = answer.json()["results"]
        # A lost one may have been recorded by a resend that was itself reset.
        assert result["status"] in (("accepted", "duplicate") if key in lost else ("duplicate",))
    assert sorted(r["clientKey"] for r in flaky.rows(prefix)) == sorted(keys)


@pytest.mark.parametrize(("accepts", "recorded"), [("never", 0), ("always", 1)])
def test_reset_accepts_choice(api_for: ApiFor, prefix: str, accepts: str, recorded: int) -> None:
    faults = SendFaults(reset_rate=1.0, reset_accepts=accepts)  # type: ignore[arg-type]
    flaky = api_for(endpoint_faults={"alimtalk": faults, "push": faults})
    with pytest.raises(httpx.TransportError):
        flaky.send_alimtalk(flaky.alimtalk(f"{prefix}a"))
    with pytest.raises(httpx.TransportError):
        flaky.send_push(f"{prefix}p")
    counts = flaky.summary(prefix)
    assert (counts["alimtalk"]["accepted"], counts["push"]["accepted"]) == (recorded, recorded)


def test_fault_shares_must_fit_in_one() -> None:
    with pytest.raises(ValueError, match="must not exceed 1"):
        SimConfig(error_rate_5xx=0.5, timeout_rate=0.3, reset_rate=0.3)
    with pytest.raises(ValueError, match="burst_duration_s"):
        SendFaults(burst_period_s=1, burst_duration_s=2)


def test_429_bursts_follow_the_clock(prefix: str) -> None:
    now = [100.0]
    config = SimConfig(latency_ms=(0, 0), receipt_delay_ms=0, burst_period_s=10, burst_duration_s=3)
    sms = {"clientKey": "", "type": "SMS", "from": "15880000", "to": "01012345678", "text": "x"}

    async def scenario(ledger: Ledger) -> tuple[list[httpx.Response], httpx.Response]:
        app = create_app(config, ledger, clock=lambda: now[0])
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": "Bearer t"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sim", headers=headers
        ) as client:
            answers = []
            for at in (0, 2.5, 3, 9.9, 10.2, 13.5):
                now[0] = 100.0 + at
                body = {"messages": [sms | {"clientKey": f"{prefix}{at}"}]}
                answers.append(await client.post("/sms/v1/messages/batch", json=body))
            now[0] = 101.0
            push = await client.post(
                "/v1/projects/p/messages:send",
                json={"message": {"token": "t"}},
                headers={"Idempotency-Key": f"{prefix}p"},
            )
        return answers, push

    with Ledger() as ledger:
        answers, push = asyncio.run(scenario(ledger))
        assert [(r.status_code, r.headers.get("Retry-After")) for r in answers] == [
            (429, "3"),
            (429, "1"),
            (200, None),
            (200, None),
            (429, "3"),
            (200, None),
        ]
        assert answers[0].json()["error"]["code"] == "E-RATE"
        assert (push.status_code, push.headers["Retry-After"]) == (429, "2")
        assert push.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        recorded = [m.client_key for m in ledger.messages()]
        assert recorded == [f"{prefix}{at}" for at in (3, 9.9, 13.5)]


def test_429_burst_over_http(api_for: ApiFor, prefix: str) -> None:
    busy = api_for(burst_period_s=3600, burst_duration_s=1800)
    response = busy.http.post(busy.sms_path, json={"messages": [busy.sms(prefix)]})
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 1800
    assert busy.rows(prefix) == []
