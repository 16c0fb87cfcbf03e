"""Receipt faults in the polling feed, and the status queries that answer lost receipts."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ums_pipelines.gateway_sim import SimConfig, rules
from ums_pipelines.gateway_sim.receipt_plan import receipt_delay

# Fixture types; the class itself lives in conftest.py, which is not importable.
Api = Any
ApiFor = Callable[..., Any]

HOUR_MS = 3_600_000


def _feed(api: Api, channel: str, prefix: str) -> list[dict[str, Any]]:
    """Every receipt of the channel with this key prefix, in the order served."""
    found: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page = api.receipts(channel, cursor, limit=100)
        found += [r for r in page["receipts"] if r["clientKey"].startswith(prefix)]
        if page["next"] == cursor:
            return found
        cursor = page["next"]


def _statuses(api: Api, keys: list[str], path: str = "/sms/v1/messages/status") -> Any:
    response = api.http.post(path, json={"clientKeys": keys})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_lost_receipts_are_answered_by_the_status_query(api_for: ApiFor, prefix: str) -> None:
    lossy = api_for(receipt_loss_rate=0.2, failure_rate=0.3)
    keys = [f"{prefix}{n}" for n in range(300)]
    for start in range(0, 300, 100):
        lossy.send_sms(*[lossy.sms(k) for k in keys[start : start + 100]])
    seen = {r["clientKey"]: r for r in _feed(lossy, "sms", prefix)}
    lost = [k for k in keys if k not in seen]
    assert 0.12 * 300 < len(lost) < 0.28 * 300
    config = lossy.sim.config
    answers = _statuses(lossy, lost)
    assert [a["clientKey"] for a in answers] == lost
    for answer in answers:
        expected = rules.handset_outcome(config, answer["clientKey"])
        assert (answer["status"], answer["code"]) == (expected.status, expected.code)
        assert answer["doneAt"] is not None
    # Feed plus status queries reconcile exactly with the ledger.
    final = {k: r["status"] for k, r in seen.items()} | {
        a["clientKey"]: a["status"] for a in answers
    }
    assert final == {r["clientKey"]: r["outcome"] for r in lossy.rows(prefix)}


def test_duplicated_receipts(api_for: ApiFor, prefix: str) -> None:
    noisy = api_for(receipt_duplicate_rate=0.2)
    keys = [f"{prefix}{n}" for n in range(300)]
    noisy.send_sms(*[noisy.sms(k) for k in keys[:150]])
    noisy.send_sms(*[noisy.sms(k) for k in keys[150:]])
    counts = Counter(r["clientKey"] for r in _feed(noisy, "sms", prefix))
    assert set(counts) == set(keys)
    twice = [k for k, n in counts.items() if n == 2]
    assert set(counts.values()) == {1, 2}
    assert 0.12 * 300 < len(twice) < 0.28 * 300


def test_stages_in_order_without_reordering(api_for: ApiFor, prefix: str) -> None:
    staged = api_for(receipt_stages=True, failure_rate=1.0)
    staged.send_sms(staged.sms(f"{prefix}s"))
    staged.send_alimtalk(staged.alimtalk(f"{prefix}a"))
    sms = [(r["stage"], r["status"], r["code"]) for r in _feed(staged, "sms", prefix)]
    assert sms == [
        ("relay", "sent", None),
        ("carrier", "sent", None),
        ("handset", "failed", "E-HANDSET"),
    ]
    kakao = [r["stage"] for r in _feed(staged, "alimtalk", prefix)]
    assert kakao == ["relay", "handset"]


def test_reordered_stages_and_shuffled_pages(api_for: ApiFor, prefix: str) -> None:
    shuffled = api_for(receipt_stages=True, receipt_reorder_rate=0.3)
    keys = [f"{prefix}{n:03d}" for n in range(300)]
    for start in range(0, 300, 100):
        shuffled.send_sms(*[shuffled.sms(k) for k in keys[start : start + 100]])
    served = _feed(shuffled, "sms", prefix)
    assert len(served) == 3 * 300
    seqs = [r["seq"] for r in served]
    assert seqs != sorted(seqs)  # each page is shuffled
    published: dict[str, list[str]] = {}
    for r in sorted(served, key=lambda r: r["seq"]):
        published.setdefault(r["clientKey"], []).append(r["stage"])
    backwards = [k for k, stages in published.items() if stages == ["handset", "carrier", "relay"]]
    forwards = [k for k, stages in published.items() if stages == ["relay", "carrier", "handset"]]
    assert len(backwards) + len(forwards) == 300
    assert 0.2 * 300 < len(backwards) < 0.4 * 300


def test_delay_jitter_orders_the_feed_by_due_time(api_for: ApiFor, prefix: str) -> None:
    jittery = api_for(receipt_delay_ms=(0, 300))
    keys = [f"{prefix}{n}" for n in range(50)]
    jittery.send_sms(*[jittery.sms(k) for k in keys])
    served: list[dict[str, Any]] = []
    cursor = 0
    deadline = time.monotonic() + 10
    while len(served) < 50 and time.monotonic() < deadline:
        page = jittery.receipts("sms", cursor)
        served += page["receipts"]
        cursor = page["next"]
        time.sleep(0.02)
    config: SimConfig = jittery.sim.config
    order = [r["clientKey"] for r in served]
    # One batch, one acceptance time: the feed follows each message's own delay.
    assert order == sorted(keys, key=lambda k: (receipt_delay(config, k), keys.index(k)))
    assert order != keys
    assert len({receipt_delay(config, k) for k in keys}) > 10


def test_status_query_endpoints(api_for: ApiFor, prefix: str) -> None:
    sim = api_for(failure_rate=0.0)
    sim.send_sms(sim.sms(f"{prefix}s"))
    sim.send_alimtalk(sim.alimtalk(f"{prefix}a"))
    sim.send_push(f"{prefix}p")
    one = sim.http.get(f"/sms/v1/messages/{prefix}s")
    assert one.status_code == 200
    body = one.json()
    assert (body["clientKey"], body["channel"], body["type"], body["status"]) == (
        f"{prefix}s",
        "sms",
        "SMS",
        "delivered",
    )
    assert sim.http.get(f"/sms/v1/messages/{prefix}none").status_code == 404
    assert sim.http.get(f"/status/v1/alimtalk/{prefix}a").json()["status"] == "delivered"
    # Keys are looked up within the channel asked about.
    assert sim.http.get(f"/status/v1/push/{prefix}a").status_code == 404
    assert sim.http.get(f"/status/v1/fax/{prefix}a").status_code == 404
    answers = _statuses(sim, [f"{prefix}p", f"{prefix}x"], "/status/v1/push")
    assert [(a["clientKey"], a["status"]) for a in answers] == [
        (f"{prefix}p", "delivered"),
        (f"{prefix}x", "unknown"),
    ]
    too_many = {"clientKeys": [str(n) for n in range(1001)]}
    assert sim.http.post("/sms/v1/messages/status", json=too_many).status_code == 400
    assert sim.http.post("/sms/v1/messages/status", json={"clientKeys": []}).status_code == 400
    unauthenticated = httpx.get(f"{sim.sim.base_url}/sms/v1/messages/{prefix}s")
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize("delay", [HOUR_MS, (HOUR_MS, 2 * HOUR_MS)])
def test_status_is_pending_until_due(api_for: ApiFor, prefix: str, delay: Any) -> None:
    slow = api_for(receipt_delay_ms=delay)
    slow.send_sms(slow.sms(f"{prefix}s"))
    (answer,) = _statuses(slow, [f"{prefix}s"])
    assert (answer["status"], answer["code"], answer["doneAt"]) == ("pending", None, None)
    assert answer["acceptedAt"] is not None


def test_client_with_retries_reconciles_exactly(api_for: ApiFor, prefix: str) -> None:
    """Faults on both sides; a client that retries by key and queries what it never
    heard about ends with exactly the ledger's outcomes."""
    sim = api_for(
        error_rate_5xx=0.05,
        timeout_rate=0.02,
        reset_rate=0.02,
        hang_ms=2_000,
        failure_rate=0.1,
        receipt_stages=True,
        receipt_loss_rate=0.1,
        receipt_duplicate_rate=0.1,
        receipt_reorder_rate=0.1,
    )
    sim.http.timeout = httpx.Timeout(0.1)
    keys = [f"{prefix}{n:03d}" for n in range(200)]
    pending = list(keys)
    attempts = 0
    while pending:
        chunk, pending = pending[:20], pending[20:]
        attempts += 1
        try:
            response = sim.http.post(sim.sms_path, json={"messages": [sim.sms(k) for k in chunk]})
        except httpx.TransportError:
            pending += chunk
            continue
        if response.status_code != 200:
            assert response.status_code == 503
            pending += chunk
    assert attempts > 10
    final: dict[str, str] = {}
    for r in _feed(sim, "sms", prefix):
        if r["stage"] == "handset":
            final[r["clientKey"]] = r["status"]
    unheard = [k for k in keys if k not in final]
    assert unheard
    final |= {a["clientKey"]: a["status"] for a in _statuses(sim, unheard)}
    counts = sim.summary(prefix)["sms"]
    assert counts["accepted"] == 200
    assert Counter(final.values()) == {"delivered": counts["delivered"], "failed": counts["failed"]}
    assert final == {r["clientKey"]: r["outcome"] for r in sim.rows(prefix)}
