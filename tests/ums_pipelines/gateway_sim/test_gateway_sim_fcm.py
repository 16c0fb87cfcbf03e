"""FCM HTTP v1's full message shape at the simulator: platform blocks validated as FCM
validates them, and the message recorded as received."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ums_pipelines.gateway_sim import GatewaySimulator

FULL = {
    "token": "device-token-1",
    "notification": {"title": "입금", "body": "10,000원"},
    "data": {"kind": "deposit"},
    "android": {
        "collapse_key": "balance",
        "priority": "HIGH",
        "ttl": "3600s",
        "notification": {"sound": "default", "notification_count": 2},
    },
    "apns": {"headers": {"apns-priority": "10"}, "payload": {"aps": {"badge": 2}}},
    "fcm_options": {"analytics_label": "job-1"},
}


def test_full_message_is_accepted_and_recorded(
    sim: GatewaySimulator, api: Any, prefix: str
) -> None:
    response = api.send_push(f"{prefix}1", {"message": FULL})
    assert response.status_code == 200, response.text
    wire = json.loads(sim.ledger.wire(f"{prefix}1") or "")
    assert wire["message"]["android"]["ttl"] == "3600s"
    assert wire["message"]["apns"]["payload"]["aps"]["badge"] == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"android": {"ttl": "3600"}}, "message.android.ttl"),
        ({"android": {"priority": "URGENT"}}, "message.android.priority"),
        ({"android": {"collapse_key": "k" * 101}}, "message.android.collapse_key"),
        ({"data": {"from": "x"}}, "message.data"),
        ({"data": {"google.x": "y"}}, "message.data"),
        ({"data": {"n": 1}}, "message.data.n"),
        ({"apns": {"headers": {"apns-priority": "7"}}}, "message.apns.headers"),
        ({"fcm_options": {"analytics_label": "a b"}}, "message.fcm_options.analytics_label"),
    ],
)
def test_invalid_blocks_are_invalid_argument_naming_the_field(
    api: Any, prefix: str, change: dict[str, Any], field: str
) -> None:
    response = api.send_push(f"{prefix}x", {"message": FULL | change})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert f"'{field}'" in error["message"]
