"""export_to_parquet: Korea-day partitions, no personal data, incremental and idempotent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import ModuleType

import polars as pl
import sqlalchemy as sa

from ums_pipelines.analytics import ExportResult, TableExport, export_to_parquet
from ums_pipelines.analytics.export import day_path
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import DeliveryEvent, Message, Watermark

MESSAGE_COLUMNS = [
    "id",
    "idempotency_key",
    "job_id",
    "customer_id",
    "channel",
    "message_type",
    "provider",
    "leg",
    "parent_id",
    "next_leg_id",
    "priority",
    "state",
    "error_code",
    "attempts",
    "created_at",
    "submitted_at",
    "completed_at",
    "updated_at",
    "unit_price",
]
EVENT_COLUMNS = ["id", "message_id", "stage", "status", "code", "occurred_at", "recorded_at"]


def _stamps(settings: Settings) -> dict[str, tuple[int, int]]:
    """Every exported file with its inode and mtime: any rewrite changes the inode."""
    return {
        str(p.relative_to(settings.parquet_dir)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(settings.parquet_dir.rglob("*"))
        if p.is_file()
    }


def _read(settings: Settings, table: str, day: object) -> pl.DataFrame:
    return pl.read_parquet(day_path(settings.parquet_dir, table, day))  # type: ignore[arg-type]


def test_partitions_by_korea_day(seed: ModuleType, store: Store, settings: Settings) -> None:
    ids = seed.seed_scenario(store)
    result = export_to_parquet(store, settings)

    assert result.messages == TableExport(rows=17, days=(seed.D0, seed.D1, seed.D2))
    assert result.delivery_events == TableExport(rows=5, days=(seed.D1, seed.D2))
    by_day = {
        day: set(_read(settings, "messages", day)["id"]) for day in (seed.D0, seed.D1, seed.D2)
    }
    assert by_day[seed.D0] == {ids["p0"], ids["s0"]}
    assert by_day[seed.D2] == {ids["e1"]}
    assert ids["p6"] in by_day[seed.D1]  # 00:30 KST is still the previous day in UTC
    late_receipt = _read(settings, "delivery_events", seed.D2)
    assert late_receipt["message_id"].to_list() == [ids["s4"]]
    # Every file is a complete, final name: no temporary file is left behind.
    assert {p.name for p in settings.parquet_dir.rglob("*") if p.is_file()} == {"data.parquet"}


def test_exports_no_personal_data_and_utc_times(
    seed: ModuleType, store: Store, settings: Settings
) -> None:
    ids = seed.seed_scenario(store)
    export_to_parquet(store, settings)
    messages = _read(settings, "messages", seed.D1)
    events = _read(settings, "delivery_events", seed.D1)
    assert messages.columns == MESSAGE_COLUMNS
    assert events.columns == EVENT_COLUMNS
    for frame in (messages, events):
        for name, dtype in frame.schema.items():
            if dtype == pl.String:
                values = frame[name].drop_nulls().to_list()
                assert not [v for v in values if seed.RECIPIENT in v or "비밀" in v], name
    assert messages.schema["created_at"] == pl.Datetime("us", "UTC")
    p6 = messages.filter(pl.col("id") == ids["p6"]).row(0, named=True)
    assert p6["created_at"] == seed.kst(seed.D1, 0, 30)
    assert p6["completed_at"] == seed.kst(seed.D1, 0, 30, 7)


def test_second_run_without_changes_writes_nothing(
    seed: ModuleType, store: Store, settings: Settings
) -> None:
    seed.seed_scenario(store)
    export_to_parquet(store, settings)
    before = _stamps(settings)
    again = export_to_parquet(store, settings)
    assert again == ExportResult(
        messages=TableExport(),
        delivery_events=TableExport(),
        others={"link_clicks": TableExport(), "mo_messages": TableExport()},
    )
    assert not again.wrote_anything
    assert _stamps(settings) == before


def test_a_change_rewrites_only_its_day(seed: ModuleType, store: Store, settings: Settings) -> None:
    ids = seed.seed_scenario(store)
    export_to_parquet(store, settings)
    before = _stamps(settings)
    later = seed.kst(seed.D2, 9)
    with store.session() as s:
        p5 = s.get(Message, ids["p5"])
        assert p5 is not None
        p5.state, p5.updated_at = "delivered", later
        s.add(
            DeliveryEvent(
                message_id=ids["p5"],
                stage="handset",
                status="delivered",
                occurred_at=seed.kst(seed.D1, 11, 0, 5),
                recorded_at=later,
            )
        )

    result = export_to_parquet(store, settings)
    assert result.messages == TableExport(rows=14, days=(seed.D1,))
    assert result.delivery_events == TableExport(rows=5, days=(seed.D1,))
    after = _stamps(settings)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {
        "messages/day=2025-03-10/data.parquet",
        "delivery_events/day=2025-03-10/data.parquet",
    }
    p5_row = _read(settings, "messages", seed.D1).filter(pl.col("id") == ids["p5"])
    assert p5_row["state"].to_list() == ["delivered"]


def test_late_commit_inside_the_overlap_is_exported(
    seed: ModuleType, store: Store, settings: Settings
) -> None:
    seed.seed_scenario(store)
    export_to_parquet(store, settings)
    newest = seed.kst(seed.D2, 0, 0, 2)  # e1's completion, the newest change seeded
    with store.session() as s:
        # Changed "before" the watermark: committed after a newer transaction.
        late = seed.add_message(
            s,
            "late",
            channel="sms",
            message_type="SMS",
            state="queued",
            created_at=seed.kst(seed.D0, 12),
            updated_at=newest - timedelta(minutes=1),
        )
        older = seed.add_message(
            s,
            "older",
            channel="sms",
            message_type="SMS",
            state="queued",
            created_at=seed.kst(seed.D1, 12),
            updated_at=newest - timedelta(hours=1),
        )
        late_id, older_id = late.id, older.id

    first = export_to_parquet(store, settings)
    assert first.messages == TableExport(rows=3, days=(seed.D0,))
    assert late_id in set(_read(settings, "messages", seed.D0)["id"])
    # Beyond the default overlap a late row waits for a wider one.
    assert older_id not in set(_read(settings, "messages", seed.D1)["id"])
    wide = export_to_parquet(store, settings, overlap=timedelta(hours=2))
    assert wide.messages == TableExport(rows=15, days=(seed.D1,))
    assert older_id in set(_read(settings, "messages", seed.D1)["id"])


def test_watermarks_hold_the_newest_exported_change(
    seed: ModuleType, store: Store, settings: Settings
) -> None:
    seed.seed_scenario(store)
    export_to_parquet(store, settings)
    with store.session() as s:
        marks = {
            name: value for name, value in s.execute(sa.select(Watermark.name, Watermark.value))
        }
    assert marks == {
        "parquet_export:messages": seed.kst(seed.D2, 0, 0, 2).isoformat(),
        "parquet_export:delivery_events": seed.kst(seed.D2, 0, 10, 1).isoformat(),
    }


def test_unreadable_day_file_is_rewritten(
    seed: ModuleType, store: Store, settings: Settings
) -> None:
    seed.seed_scenario(store)
    export_to_parquet(store, settings)
    path: Path = day_path(settings.parquet_dir, "messages", seed.D2)
    path.write_bytes(b"not parquet")
    result = export_to_parquet(store, settings)
    assert result.messages == TableExport(rows=1, days=(seed.D2,))
    assert pl.read_parquet(path).height == 1


def test_empty_store_exports_nothing(store: Store, settings: Settings) -> None:
    result = export_to_parquet(store, settings)
    assert result == ExportResult(
        messages=TableExport(),
        delivery_events=TableExport(),
        others={"link_clicks": TableExport(), "mo_messages": TableExport()},
    )
    assert not settings.parquet_dir.exists()
    with store.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Watermark)) == 0


def test_summary_is_flat_run_metadata(seed: ModuleType, store: Store, settings: Settings) -> None:
    seed.seed_scenario(store)
    assert export_to_parquet(store, settings).summary() == {
        "messages_rows": 17,
        "messages_days": ["2025-03-09", "2025-03-10", "2025-03-11"],
        "delivery_events_rows": 5,
        "delivery_events_days": ["2025-03-10", "2025-03-11"],
        "link_clicks_rows": 0,
        "link_clicks_days": [],
        "mo_messages_rows": 0,
        "mo_messages_days": [],
    }
