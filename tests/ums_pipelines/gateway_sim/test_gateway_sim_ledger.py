"""The ledger on its own, with explicit clocks: idempotency, cursors, summary, restarts."""

from __future__ import annotations

import threading
from pathlib import Path

from ums_pipelines.gateway_sim import Ledger
from ums_pipelines.gateway_sim.records import Channel, NewMessage


def message(
    key: str, channel: Channel = "sms", kind: str = "SMS", failed: bool = False
) -> NewMessage:
    return NewMessage(
        client_key=key,
        message_id=f"id-{key}",
        channel=channel,
        type=kind,
        sender="15880000",
        recipient="01012345678",
        subject=None,
        body="안녕하세요",
        outcome="failed" if failed else "delivered",
        code="E-HANDSET" if failed else None,
        reason="handset unreachable" if failed else None,
    )


def test_duplicates_return_the_original_and_are_counted() -> None:
    with Ledger(None) as ledger:
        first = ledger.accept_many([message("a"), message("b"), message("a")], now=0)
        assert [(r.client_key, r.duplicate) for r in first] == [
            ("a", False),
            ("b", False),
            ("a", True),
        ]
        again = ledger.accept_many([message("a")], now=1)
        assert again[0].duplicate and again[0].message_id == "id-a"
        assert len(ledger.messages()) == 2
        assert ledger.summary()["sms"]["duplicates_ignored"] == 2


def test_receipts_wait_until_due() -> None:
    with Ledger(None) as ledger:
        ledger.accept_many([message("a"), message("b")], receipt_delay_ms=100, now=1_000)
        assert ledger.receipts("sms", 0, 10, now=1_099) == ([], 0)
        found, cursor = ledger.receipts("sms", 0, 10, now=1_100)
        assert [r.client_key for r in found] == ["a", "b"]
        assert cursor == found[-1].seq
        assert ledger.receipts("sms", cursor, 10, now=5_000) == ([], cursor)


def test_cursor_never_passes_a_receipt_that_is_not_due() -> None:
    with Ledger(None) as ledger:
        # "slow" was accepted first with a long delay, "fast" later with none (a restart
        # with another config): fast is due first but comes after slow in seq order.
        ledger.accept_many([message("slow")], receipt_delay_ms=60_000, now=0)
        ledger.accept_many([message("fast")], receipt_delay_ms=0, now=10)
        assert ledger.receipts("sms", 0, 10, now=20) == ([], 0)
        found, cursor = ledger.receipts("sms", 0, 10, now=60_000)
        assert [r.client_key for r in found] == ["slow", "fast"]
        assert ledger.receipts("sms", cursor, 10, now=60_000) == ([], cursor)


def test_cursor_stops_just_before_the_first_undue_receipt() -> None:
    with Ledger(None) as ledger:
        ledger.accept_many([message("a")], receipt_delay_ms=0, now=0)
        ledger.accept_many([message("b")], receipt_delay_ms=1_000, now=0)
        ledger.accept_many([message("c")], receipt_delay_ms=0, now=0)
        found, cursor = ledger.receipts("sms", 0, 10, now=1)
        assert [r.client_key for r in found] == ["a"]
        found, _ = ledger.receipts("sms", cursor, 10, now=1_000)
        assert [r.client_key for r in found] == ["b", "c"]


def test_receipts_page_by_limit_and_channel() -> None:
    with Ledger(None) as ledger:
        ledger.accept_many(
            [message(f"s{n}") for n in range(5)] + [message("p", "push", "PUSH")], now=0
        )
        page1, cursor = ledger.receipts("sms", 0, 2, now=0)
        page2, cursor = ledger.receipts("sms", cursor, 2, now=0)
        page3, cursor = ledger.receipts("sms", cursor, 2, now=0)
        keys = [r.client_key for r in page1 + page2 + page3]
        assert keys == [f"s{n}" for n in range(5)]
        assert [r.client_key for r in ledger.receipts("push", 0, 10, now=0)[0]] == ["p"]


def test_a_poller_starting_at_the_feed_head_reads_only_what_comes_after() -> None:
    with Ledger(None) as ledger:
        assert ledger.feed_head("sms") == 0
        ledger.accept_many([message("old-1"), message("old-2"), message("p", "push", "PUSH")])
        head = ledger.feed_head("sms")
        assert head == max(r.seq for r in ledger.receipts("sms", 0, 10, now=2**62)[0])
        ledger.accept_many([message("new")], now=None)
        found, _ = ledger.receipts("sms", head, 10, now=2**62)
        assert [r.client_key for r in found] == ["new"]
        assert ledger.feed_head("push") < ledger.feed_head("sms")


def test_summary_by_prefix_and_type() -> None:
    with Ledger(None) as ledger:
        ledger.accept_many(
            [
                message("x-1"),
                message("x-2", kind="LMS", failed=True),
                message("x-3", "alimtalk", "ALIMTALK"),
                message("y-1"),
                message("x%_"),
            ],
            now=0,
        )
        summary = ledger.summary("x-")
        assert summary["sms"] == {
            "accepted": 2,
            "delivered": 1,
            "failed": 1,
            "duplicates_ignored": 0,
            "by_type": {"SMS": 1, "LMS": 1},
        }
        assert summary["alimtalk"]["accepted"] == 1
        assert summary["push"]["accepted"] == summary["email"]["accepted"] == 0
        # Wildcard characters in a prefix are literal.
        assert [m.client_key for m in ledger.messages(key_prefix="x%")] == ["x%_"]
        assert ledger.summary()["sms"]["accepted"] == 4


def test_file_ledger_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "ledger.db"
    with Ledger(path) as ledger:
        ledger.accept_many([message("kept")], now=0)
    with Ledger(path) as ledger:
        (result,) = ledger.accept_many([message("kept")], now=1)
        assert result.duplicate
        assert [m.client_key for m in ledger.messages()] == ["kept"]


def test_concurrent_retries_record_each_key_once() -> None:
    with Ledger(None) as ledger:
        keys = [f"k{n}" for n in range(50)]

        def send() -> None:
            for key in keys:
                ledger.accept_many([message(key)])

        threads = [threading.Thread(target=send) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [m.client_key for m in ledger.messages(limit=1000)] == keys
        assert ledger.summary()["sms"]["duplicates_ignored"] == 150
