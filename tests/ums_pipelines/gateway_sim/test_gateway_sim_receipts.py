"""Receipt polling and the ledger API over real loopback HTTP, including restarts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig, rules

# Fixture types; the class itself lives in conftest.py, which is not importable.
Api = Any
ApiFor = Callable[..., Any]

HOUR_MS = 3_600_000


def test_receipts_follow_the_deterministic_outcomes(
    api: Api, shared_config: SimConfig, prefix: str
) -> None:
    keys = [f"{prefix}{n}" for n in range(40)]
    api.send_sms(*[api.sms(k) for k in keys])
    found = api.all_receipts("sms", prefix)
    assert set(found) == set(keys)
    for key in keys:
        expected = rules.handset_outcome(shared_config, key)
        receipt = found[key]
        assert (receipt["status"], receipt["code"]) == (expected.status, expected.code)
        assert (receipt["stage"], receipt["channel"], receipt["type"]) == ("handset", "sms", "SMS")
        assert "01012345678" not in json.dumps(receipt)
    assert {r["status"] for r in found.values()} == {"delivered", "failed"}


def test_receipts_are_hidden_until_due_but_counted(api_for: ApiFor, prefix: str) -> None:
    slow = api_for(receipt_delay_ms=HOUR_MS, failure_rate=1.0)
    slow.send_sms(slow.sms(f"{prefix}1"), slow.sms(f"{prefix}2"))
    assert slow.receipts("sms", 0) == {"receipts": [], "next": 0}
    counts = slow.summary(prefix)["sms"]
    assert (counts["accepted"], counts["delivered"], counts["failed"]) == (2, 0, 2)


def test_cursor_waits_for_an_undue_receipt_across_a_restart(
    api_for: ApiFor, tmp_path: Path, prefix: str
) -> None:
    path = tmp_path / "ledger.db"
    slow = api_for(ledger_path=path, receipt_delay_ms=HOUR_MS)
    slow.send_sms(slow.sms(f"{prefix}slow"))
    slow.sim.stop()
    fast = api_for(ledger_path=path, receipt_delay_ms=0)
    fast.send_sms(fast.sms(f"{prefix}fast"))
    # "fast" is due, but it sits behind "slow": handing it out would move the cursor
    # past "slow", which would then never be polled.
    assert fast.receipts("sms", 0) == {"receipts": [], "next": 0}
    assert [r["clientKey"] for r in fast.rows(prefix)] == [f"{prefix}slow", f"{prefix}fast"]


def test_ledger_survives_a_restart(api_for: ApiFor, tmp_path: Path, prefix: str) -> None:
    path = tmp_path / "ledger.db"
    first = api_for(ledger_path=path)
    (original,) = first.send_sms(first.sms(f"{prefix}1"))
    first.send_push(f"{prefix}p")
    first.sim.stop()
    second = api_for(ledger_path=path)
    (retry,) = second.send_sms(second.sms(f"{prefix}1"))
    assert (retry["status"], retry["messageId"]) == ("duplicate", original["messageId"])
    assert second.send_push(f"{prefix}p").status_code == 200
    counts = second.summary(prefix)
    assert (counts["sms"]["accepted"], counts["sms"]["duplicates_ignored"]) == (1, 1)
    assert (counts["push"]["accepted"], counts["push"]["duplicates_ignored"]) == (1, 1)
    assert [r["status"] for r in second.receipts("sms")["receipts"]] == ["delivered"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"channel": "fax"},
        {"channel": "sms", "limit": 5001},
        {"channel": "sms", "limit": 0},
        {"channel": "sms", "after": -1},
        {"channel": "sms", "after": "x"},
    ],
)
def test_receipt_query_validation(api: Api, params: dict[str, Any]) -> None:
    assert api.http.get("/receipts/v1", params=params).status_code == 400


def test_summary_reconciles_with_the_messages_listed(
    api: Api, sim: GatewaySimulator, prefix: str
) -> None:
    api.send_sms(*[api.sms(f"{prefix}s{n}") for n in range(20)], api.sms(f"{prefix}s0"))
    api.send_sms(*[api.sms(f"{prefix}l{n}", type="LMS", text="가" * 100) for n in range(5)])
    api.send_alimtalk(*[api.alimtalk(f"{prefix}a{n}", f"010{n:08d}") for n in range(15)])
    for n in [0, 1, 2, 3, 4, 5, 0]:
        api.send_push(f"{prefix}p{n}")
    counts = api.summary(prefix)
    rows = api.rows(prefix)
    assert len(rows) == 20 + 5 + 15 + 6
    for channel, entry in counts.items():
        listed = [r for r in rows if r["channel"] == channel]
        assert entry["accepted"] == len(listed) == sum(entry["by_type"].values())
        assert entry["delivered"] == sum(r["outcome"] == "delivered" for r in listed)
        assert entry["failed"] == sum(r["outcome"] == "failed" for r in listed)
        for kind, count in entry["by_type"].items():
            assert count == sum(r["type"] == kind for r in listed)
    assert (counts["sms"]["duplicates_ignored"], counts["push"]["duplicates_ignored"]) == (1, 1)
    assert counts["sms"]["by_type"] == {"SMS": 20, "LMS": 5}
    # The HTTP view and the in-process ledger are the same books.
    assert sim.ledger.summary(prefix) == counts


def test_messages_listing_pages_with_a_cursor(api: Api, prefix: str) -> None:
    api.send_sms(*[api.sms(f"{prefix}{n:02d}") for n in range(7)])
    seen: list[str] = []
    cursor = 0
    while True:
        params = {"keyPrefix": prefix, "after": cursor, "limit": 3}
        page = api.http.get("/ledger/v1/messages", params=params).json()
        seen += [m["clientKey"] for m in page["messages"]]
        if page["next"] == cursor:
            break
        cursor = page["next"]
    assert seen == [f"{prefix}{n:02d}" for n in range(7)]
