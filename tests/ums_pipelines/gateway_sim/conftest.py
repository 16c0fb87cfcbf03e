"""Fixtures: simulators started on loopback with free ports, and clients for them.

Tests take everything from fixtures rather than importing this module: with no
``__init__.py`` under tests/, ``conftest`` is not a reliable import name.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig

AUTH = {"Authorization": "Bearer test-token"}
SMS_PATH = "/sms/v1/messages/batch"
ALIMTALK_PATH = "/alimtalk/v2/senders/bank-sender-key/messages"
PUSH_PATH = "/v1/projects/ums-bank/messages:send"

# Shared by most tests: no latency, receipts due at once, and enough failures that
# "the receipt matches the rules" is not trivially "everything delivered".
SHARED_CONFIG = SimConfig(
    latency_ms=(0, 0),
    receipt_delay_ms=0,
    failure_rate=0.3,
    registered_senders=["15880000", "0212345678"],
)


class Api:
    """A test client for one simulator's HTTP side, with message builders."""

    sms_path = SMS_PATH
    alimtalk_path = ALIMTALK_PATH
    push_path = PUSH_PATH

    def __init__(self, sim: GatewaySimulator) -> None:
        self.sim = sim
        self.http = httpx.Client(base_url=sim.base_url, headers=AUTH, timeout=10)

    @staticmethod
    def sms(key: str, text: str = "잔액 안내", **fields: Any) -> dict[str, Any]:
        message = {"clientKey": key, "type": "SMS", "from": "15880000", "to": "01012345678"}
        return message | {"text": text} | fields

    @staticmethod
    def alimtalk(key: str, to: str = "01012345678", text: str = "입금 안내") -> dict[str, Any]:
        return {"clientKey": key, "to": to, "text": text}

    @staticmethod
    def push_body(token: str = "device-token-1", body: str = "입금되었습니다") -> dict[str, Any]:
        return {
            "message": {
                "token": token,
                "notification": {"title": "입금", "body": body},
                "data": {"kind": "deposit"},
            }
        }

    def send_sms(self, *messages: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.http.post(SMS_PATH, json={"messages": list(messages)})
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def send_alimtalk(self, *messages: dict[str, Any], template: str = "T1") -> httpx.Response:
        return self.http.post(
            ALIMTALK_PATH, json={"templateCode": template, "messages": list(messages)}
        )

    def send_push(self, key: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(
            PUSH_PATH, json=body or self.push_body(), headers={"Idempotency-Key": key}
        )

    def receipts(self, channel: str, after: int = 0, limit: int = 5000) -> Any:
        params: dict[str, str | int] = {"channel": channel, "after": after, "limit": limit}
        response = self.http.get("/receipts/v1", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def all_receipts(self, channel: str, prefix: str) -> dict[str, dict[str, Any]]:
        """Every due receipt of the channel whose key has this prefix, by key."""
        found: dict[str, dict[str, Any]] = {}
        cursor = 0
        while True:
            page = self.receipts(channel, cursor)
            found |= {
                r["clientKey"]: r for r in page["receipts"] if r["clientKey"].startswith(prefix)
            }
            if page["next"] == cursor:
                return found
            cursor = page["next"]

    def rows(self, prefix: str, channel: str | None = None) -> list[Any]:
        params: dict[str, str | int] = {"keyPrefix": prefix, "limit": 5000}
        if channel:
            params["channel"] = channel
        response = self.http.get("/ledger/v1/messages", params=params)
        assert response.status_code == 200, response.text
        rows: list[Any] = response.json()["messages"]
        return rows

    def summary(self, prefix: str) -> dict[str, Any]:
        response = self.http.get("/ledger/v1/summary", params={"keyPrefix": prefix})
        assert response.status_code == 200, response.text
        channels: dict[str, Any] = response.json()["channels"]
        return channels


def fast_config(**overrides: Any) -> SimConfig:
    values: dict[str, Any] = {"latency_ms": (0, 0), "receipt_delay_ms": 0, "failure_rate": 0.0}
    return SimConfig(**(values | overrides))


@pytest.fixture(scope="session")
def sim() -> Iterator[GatewaySimulator]:
    with GatewaySimulator(SHARED_CONFIG) as running:
        yield running


@pytest.fixture
def shared_config() -> SimConfig:
    return SHARED_CONFIG


@pytest.fixture
def api(sim: GatewaySimulator) -> Iterator[Api]:
    client = Api(sim)
    yield client
    client.http.close()


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own, so tests sharing a simulator do not mix."""
    return f"t{uuid.uuid4().hex[:10]}-"


@pytest.fixture
def api_for() -> Iterator[Callable[..., Api]]:
    """Start a simulator of the test's own: ``api_for(ledger_path=None, **config)``.

    Config fields default to no latency, immediate receipts and no failures; all
    simulators started here are stopped at teardown.
    """
    started: list[Api] = []

    def start(ledger_path: Path | None = None, **config: Any) -> Api:
        sim = GatewaySimulator(fast_config(**config), ledger_path=ledger_path).start()
        started.append(Api(sim))
        return started[-1]

    yield start
    for client in reversed(started):
        client.http.close()
        client.sim.stop()
