"""fct_messages and dim_channel over the seeded, exported store (both backends)."""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType
from typing import Any

import duckdb


def _facts(db: duckdb.DuckDBPyConnection) -> dict[int, dict[str, Any]]:
    cur = db.execute("select * from fct_messages")
    names = [d[0] for d in cur.description or []]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def test_fct_messages_one_row_per_message_with_exclusive_outcomes(
    db: duckdb.DuckDBPyConnection, built: dict[str, int]
) -> None:
    facts = _facts(db)
    assert len(facts) == len(built)
    outcome = {label: facts[mid]["outcome"] for label, mid in built.items()}
    assert outcome == {
        "p1": "delivered",
        "p2": "delivered",
        "p3": "fell_back",
        "p4": "failed",
        "p5": "in_flight",
        "p6": "delivered",
        "a1": "delivered",
        "a2": "expired",
        "a3": "delivered",
        "a4": "fell_back",
        "s1": "delivered",
        "s2": "cancelled",
        "s4": "in_flight",
        "s3": "delivered",
        "p0": "delivered",
        "s0": "failed",
        "e1": "delivered",
    }
    for fact in facts.values():
        flags = [fact[f] for f in ("is_delivered", "is_failed", "fell_back", "is_expired")]
        flags.append(fact["is_cancelled"])
        assert sum(flags) == (0 if fact["outcome"] == "in_flight" else 1)


def test_fct_messages_flags_latency_and_legs(
    db: duckdb.DuckDBPyConnection, built: dict[str, int]
) -> None:
    facts = _facts(db)
    p3, a3, a4, s3 = (facts[built[k]] for k in ("p3", "a3", "a4", "s3"))
    assert (p3["is_first_leg"], p3["is_fallback_leg"], p3["leg"]) == (True, False, 0)
    assert (a3["is_first_leg"], a3["is_fallback_leg"], a3["leg"]) == (False, True, 1)
    assert a3["root_message_id"] == built["p3"] and p3["root_message_id"] == built["p3"]
    assert s3["root_message_id"] == built["a4"]
    assert (p3["final_state"], p3["is_terminal"], p3["is_sent"]) == ("failed", True, True)
    assert a4["error_code"] == "NOT_KAKAO_USER"

    p5, s2, s4 = (facts[built[k]] for k in ("p5", "s2", "s4"))
    assert (p5["is_sent"], p5["is_terminal"], p5["latency_seconds"]) == (False, False, None)
    assert (s2["is_sent"], s2["is_terminal"]) == (False, True)  # cancelled before sending
    assert (s4["is_sent"], s4["is_terminal"]) == (True, False)  # accepted, no receipt yet

    latency = {k: facts[built[k]]["latency_seconds"] for k in ("p1", "p6", "a3", "a2", "p0")}
    assert latency == {"p1": 3.0, "p6": 7.0, "a3": 10.0, "a2": 3600.0, "p0": 1.0}


def test_fct_messages_joins_receipts(
    db: duckdb.DuckDBPyConnection, built: dict[str, int], seed: ModuleType
) -> None:
    facts = _facts(db)
    p1, p4, p2 = facts[built["p1"]], facts[built["p4"]], facts[built["p2"]]
    assert p1["event_count"] == 3
    assert p1["delivered_event_at"] == seed.kst(seed.D1, 9) + timedelta(seconds=3)
    assert p1["failed_stage"] is None
    assert (p4["event_count"], p4["failed_stage"]) == (1, "relay")
    assert (p2["event_count"], p2["delivered_event_at"]) == (0, None)


def test_dim_channel_names_every_channel_and_type(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.execute(
        "select channel, message_type, channel_name_ko, channel_name_en "
        "from dim_channel order by channel_order, message_type_order"
    ).fetchall()
    assert rows == [
        ("push", "PUSH", "앱 푸시", "App push"),
        ("alimtalk", "ALIMTALK", "카카오 알림톡", "KakaoTalk AlimTalk"),
        ("sms", "SMS", "문자", "Text message"),
        ("sms", "LMS", "문자", "Text message"),
        ("email", "EMAIL", "이메일", "E-mail"),
    ]
