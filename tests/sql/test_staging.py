"""stg_messages and stg_delivery_events over the seeded, exported store (both backends)."""

from __future__ import annotations

from datetime import date
from types import ModuleType

import duckdb


def test_stg_messages_one_row_per_message_on_its_korea_day(
    db: duckdb.DuckDBPyConnection, built: dict[str, int], seed: ModuleType
) -> None:
    rows = dict(db.execute("select message_id, sent_day from stg_messages").fetchall())
    assert len(rows) == len(built) == 17
    by_label = {label: rows[mid] for label, mid in built.items()}
    # 00:30 KST on D1 is 15:30 UTC on D0; 23:59 KST on D0 is 14:59 UTC on D0.
    assert by_label["p6"] == seed.D1
    assert by_label["p0"] == seed.D0
    # 00:00 KST on D2 is 15:00 UTC on D1.
    assert by_label["e1"] == seed.D2
    days = db.execute(
        "select sent_day, count(*) from stg_messages group by 1 order by 1"
    ).fetchall()
    assert days == [(seed.D0, 2), (seed.D1, 14), (seed.D2, 1)]


def test_stg_messages_types_and_renames(
    db: duckdb.DuckDBPyConnection, built: dict[str, int], seed: ModuleType
) -> None:
    types = dict((name, kind) for name, kind, *_ in db.execute("describe stg_messages").fetchall())
    assert types["message_id"] == "BIGINT"
    assert types["leg"] == "INTEGER"
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["sent_day"] == "DATE"
    assert "parent_message_id" in types and "parent_id" not in types
    assert not {"recipient", "body", "subject", "html_body", "error_reason"} & set(types)

    row = db.execute(
        "select leg, parent_message_id, next_leg_message_id, channel, message_type, state, "
        "created_at from stg_messages where message_id = ?",
        [built["a3"]],
    ).fetchone()
    assert row is not None
    leg, parent, next_leg, channel, message_type, state, created_at = row
    assert (leg, parent, next_leg) == (1, built["p3"], None)
    assert (channel, message_type, state) == ("alimtalk", "ALIMTALK", "delivered")
    assert created_at == seed.kst(seed.D1, 10, 1)
    p3_next = db.execute(
        "select next_leg_message_id from stg_messages where message_id = ?", [built["p3"]]
    ).fetchone()
    assert p3_next == (built["a3"],)


def test_stg_delivery_events_typed_with_korea_event_day(
    db: duckdb.DuckDBPyConnection, built: dict[str, int], seed: ModuleType
) -> None:
    rows = db.execute(
        "select message_id, stage, status, status_code, event_day from stg_delivery_events "
        "order by message_id, occurred_at"
    ).fetchall()
    assert sorted(rows, key=lambda r: (r[0], r[1])) == sorted(
        [
            (built["p1"], "ums", "submitted", None, seed.D1),
            (built["p1"], "relay", "accepted", None, seed.D1),
            (built["p1"], "handset", "delivered", None, seed.D1),
            (built["p4"], "relay", "failed", "INVALID_TOKEN", seed.D1),
            # Created 23:50 KST on D1, receipt 20 minutes later: after Korea midnight.
            (built["s4"], "carrier", "accepted", None, date(2025, 3, 11)),
        ],
        key=lambda r: (r[0], r[1]),
    )
    cols = [c[0] for c in db.execute("describe stg_delivery_events").fetchall()]
    assert cols == [
        "event_id",
        "message_id",
        "stage",
        "status",
        "status_code",
        "occurred_at",
        "recorded_at",
        "event_day",
    ]
