"""The simulator's own rate limits and the ledger's sliding-window rate."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from ums_pipelines.gateway_sim import Ledger
from ums_pipelines.gateway_sim.feed import max_in_window
from ums_pipelines.gateway_sim.records import NewMessage

# Fixture types; the class itself lives in conftest.py, which is not importable.
Api = Any
ApiFor = Callable[..., Any]


def _record(key: str, channel: Any = "sms", kind: str = "SMS") -> NewMessage:
    return NewMessage(
        key, f"M{key}", channel, kind, "15880000", "01012345678", None, "x", "delivered"
    )


def test_sms_rate_limit_holds_in_every_window(api_for: ApiFor, prefix: str) -> None:
    limited = api_for(rate_limits={"sms": 50})
    accepted: set[str] = set()
    refused = 0
    batch = 0
    while len(accepted) < 120:
        keys = [f"{prefix}{batch}-{n}" for n in range(10)]
        batch += 1
        response = limited.http.post(
            limited.sms_path, json={"messages": [limited.sms(k) for k in keys]}
        )
        if response.status_code == 429:
            refused += 1
            assert 1 <= int(response.headers["Retry-After"]) <= 1
            assert response.json()["error"]["code"] == "E-RATE"
            # A refused batch is refused whole: none of it is recorded.
            time.sleep(0.05)
            continue
        assert response.status_code == 200
        accepted |= {r["clientKey"] for r in response.json()["results"]}
    assert refused > 0
    assert {r["clientKey"] for r in limited.rows(prefix)} == accepted
    params = {"channel": "sms", "window_ms": 1000, "keyPrefix": prefix}
    rate = limited.http.get("/ledger/v1/rate", params=params).json()
    assert rate["total"] == 120
    assert 40 <= rate["maxInWindow"] <= 50
    assert rate["firstAcceptedAtMs"] <= rate["windowStartMs"] <= rate["lastAcceptedAtMs"]


def test_a_batch_larger_than_the_limit_is_refused_outright(api_for: ApiFor, prefix: str) -> None:
    limited = api_for(rate_limits={"sms": 5, "push": 0.5})
    messages = [limited.sms(f"{prefix}{n}") for n in range(6)]
    response = limited.http.post(limited.sms_path, json={"messages": messages})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "E-RATE")
    assert limited.send_push(f"{prefix}p").status_code == 400
    assert limited.rows(prefix) == []


def test_push_rate_limit(api_for: ApiFor, prefix: str) -> None:
    limited = api_for(rate_limits={"push": 20})
    answers = [limited.send_push(f"{prefix}{n}") for n in range(30)]
    refused = [r for r in answers if r.status_code == 429]
    assert len(refused) >= 5
    assert refused[0].json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert len(limited.rows(prefix)) == 30 - len(refused) <= 20
    # Other endpoints are not limited.
    assert limited.send_alimtalk(limited.alimtalk(f"{prefix}a")).status_code == 200


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([], (0, None)),
        ([5], (1, 5)),
        ([0, 10, 20, 990, 1500], (4, 0)),
        # Half-open: 0 and 1000 are never in the same 1,000 ms window.
        ([0, 1000, 1001, 1002], (3, 1000)),
        ([0, 999, 1998, 2997], (2, 0)),
    ],
)
def test_max_in_window(times: list[int], expected: tuple[int, int | None]) -> None:
    found = max_in_window(times, 1000)
    assert (found.max_in_window, found.window_start) == expected
    assert found.total == len(times)


def test_rate_endpoint_over_known_times(api_for: ApiFor, prefix: str) -> None:
    sim = api_for()
    ledger: Ledger = sim.sim.ledger
    for n, at in enumerate([10_000, 10_100, 10_900, 11_050, 11_060, 11_070, 13_000]):
        ledger.accept_many([_record(f"{prefix}{n}")], now=at)
    ledger.accept_many([_record(f"{prefix}p", "push", "PUSH")], now=10_000)
    params = {"channel": "sms", "window_ms": 1000, "keyPrefix": prefix}
    rate = sim.http.get("/ledger/v1/rate", params=params).json()
    assert rate == {
        "channel": "sms",
        "windowMs": 1000,
        "total": 7,
        "maxInWindow": 5,
        "windowStart": "1970-01-01T09:00:10.100+09:00",
        "windowStartMs": 10_100,
        "firstAcceptedAt": "1970-01-01T09:00:10.000+09:00",
        "firstAcceptedAtMs": 10_000,
        "lastAcceptedAt": "1970-01-01T09:00:13.000+09:00",
        "lastAcceptedAtMs": 13_000,
    }
    params["window_ms"] = 100
    assert sim.http.get("/ledger/v1/rate", params=params).json()["maxInWindow"] == 3
    empty = sim.http.get("/ledger/v1/rate", params={"channel": "email"}).json()
    assert (empty["total"], empty["maxInWindow"], empty["windowStartMs"]) == (0, 0, None)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"channel": "fax"},
        {"channel": "sms", "window_ms": 0},
        {"channel": "sms", "window_ms": "x"},
    ],
)
def test_rate_endpoint_validation(api: Api, params: dict[str, Any]) -> None:
    assert api.http.get("/ledger/v1/rate", params=params).status_code == 400


def test_accepted_at_never_goes_back(api: Api, prefix: str) -> None:
    for n in range(5):
        api.send_sms(*[api.sms(f"{prefix}{n}-{m}") for m in range(20)])
    times = [r["acceptedAt"] for r in api.rows(prefix)]
    assert times == sorted(times)
