"""rpt_daily_channel over the seeded, exported store (both backends): exact numbers."""

from __future__ import annotations

from types import ModuleType

import duckdb
import pytest

from ums_pipelines.analytics import export_to_parquet, read_only_connection, run_all
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Message

COLUMNS = (
    "report_day, channel, message_type, requested, sent, delivered, failed, fell_back, "
    "expired, cancelled, in_flight"
)


def test_rpt_daily_channel_counts(db: duckdb.DuckDBPyConnection, seed: ModuleType) -> None:
    rows = db.execute(
        f"select {COLUMNS} from rpt_daily_channel order by report_day, channel_order, "
        "message_type_order"
    ).fetchall()
    d0, d1, d2 = seed.D0, seed.D1, seed.D2
    assert rows == [
        (d0, "push", "PUSH", 1, 1, 1, 0, 0, 0, 0, 0),
        (d0, "sms", "SMS", 1, 1, 0, 1, 0, 0, 0, 0),
        (d1, "push", "PUSH", 6, 5, 3, 1, 1, 0, 0, 1),
        (d1, "alimtalk", "ALIMTALK", 4, 4, 2, 0, 1, 1, 0, 0),
        (d1, "sms", "SMS", 3, 2, 1, 0, 0, 0, 1, 1),
        (d1, "sms", "LMS", 1, 1, 1, 0, 0, 0, 0, 0),
        (d2, "email", "EMAIL", 1, 1, 1, 0, 0, 0, 0, 0),
    ]


def test_rpt_daily_channel_rates_and_latency(
    db: duckdb.DuckDBPyConnection, seed: ModuleType
) -> None:
    rows = db.execute(
        "select message_type, success_rate, latency_p50_seconds, latency_p95_seconds "
        "from rpt_daily_channel where report_day = ?",
        [seed.D1],
    ).fetchall()
    got = {r[0]: r[1:] for r in rows}
    # Delivered latencies: PUSH 3, 5, 7 s; ALIMTALK 2, 10 s; SMS 4 s; LMS 6 s.
    assert got["PUSH"] == pytest.approx((0.6, 5.0, 6.8))
    assert got["ALIMTALK"] == pytest.approx((0.5, 6.0, 9.6))
    assert got["SMS"] == pytest.approx((0.5, 4.0, 4.0))
    assert got["LMS"] == pytest.approx((1.0, 6.0, 6.0))
    failed_day = db.execute(
        "select success_rate, latency_p50_seconds from rpt_daily_channel "
        "where report_day = ? and channel = 'sms'",
        [seed.D0],
    ).fetchone()
    assert failed_day == (0.0, None)


def test_rpt_daily_channel_follows_store_changes(
    seed: ModuleType, store: Store, settings: Settings
) -> None:
    """A rebuilt report reflects a late receipt after an incremental export."""
    ids = seed.seed_scenario(store)
    export_to_parquet(store, settings)
    run_all(settings)
    with store.session() as s:
        s4 = s.get(Message, ids["s4"])
        assert s4 is not None
        s4.state = "delivered"
        s4.completed_at = seed.kst(seed.D1, 23, 50, 8)
        s4.updated_at = seed.kst(seed.D2, 1)
    export_to_parquet(store, settings)
    run_all(settings)
    with read_only_connection(settings) as db:
        row = db.execute(
            "select requested, sent, delivered, in_flight, latency_p50_seconds "
            "from rpt_daily_channel where report_day = ? and message_type = 'SMS'",
            [seed.D1],
        ).fetchone()
    assert row == (3, 2, 2, 0, 6.0)
