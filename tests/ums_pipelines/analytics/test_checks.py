"""Declared model checks: each kind passes on the seed and fails on planted bad data (both
store backends), reconciliation honours the retention window, and unbuilt tables or
missing columns fail with the reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import duckdb
import pytest
from sqlalchemy import delete

from ums_pipelines.analytics import export_to_parquet, run_all
from ums_pipelines.analytics.checks import CheckResult, run_model_checks
from ums_pipelines.analytics.declarations import CheckSpec, ModelChecks, load_declarations
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Message

Ids = dict[str, int]


@pytest.fixture
def built(seed: ModuleType, store: Store, settings: Settings) -> Ids:
    ids: Ids = seed.seed_scenario(store)
    export_to_parquet(store, settings)
    run_all(settings)
    return ids


def _check(settings: Settings, store: Store, model: str, name: str, **kw: Any) -> CheckResult:
    declared = load_declarations()[model]
    [result] = run_model_checks(settings, declared, names=[name], store=store, **kw)
    return result


def _plant(settings: Settings, sql: str) -> None:
    # The single writer, as the model runner would be: nothing else holds the file now.
    conn = duckdb.connect(str(settings.analytics_path))
    try:
        conn.execute(sql)
    finally:
        conn.close()


def _add_message(seed: ModuleType, store: Store, created_at: datetime) -> None:
    with store.session() as session:
        seed.add_message(
            session, f"late-{created_at.timestamp()}", channel="sms", message_type="SMS",
            state="queued", created_at=created_at,
        )  # fmt: skip


# model, check, bad data (SQL on the analytics file, or a store change), failing count,
# one expected sample (by the model's key or the offending value).
Plant = Callable[[Settings, Store, ModuleType, Ids], None]


def _sql(template: str) -> Plant:
    def plant(settings: Settings, store: Store, seed: ModuleType, ids: Ids) -> None:
        _plant(settings, template.format(**ids, D1=seed.D1.isoformat()))

    return plant


CASES: list[tuple[str, str, Plant, int, dict[str, Any]]] = [
    (
        "stg_messages",
        "unique_message_id",
        _sql("insert into stg_messages select * from stg_messages where message_id = {p1}"),
        2,
        {"message_id": "p1"},
    ),
    (
        "fct_messages",
        "not_null",
        _sql("update fct_messages set outcome = null where message_id = {a2}"),
        1,
        {"message_id": "a2"},
    ),
    (
        "stg_messages",
        "accepted_values_state",
        _sql("update stg_messages set state = 'lost' where message_id in ({s2}, {s1})"),
        2,
        {"state": "lost"},
    ),
    (
        "stg_delivery_events",
        "relationships_message_id_to_stg_messages",
        _sql("delete from stg_messages where message_id = {p1}"),
        3,  # p1 has three receipt stages
        {"message_id": "p1"},
    ),
    (
        "fct_messages",
        "relationships_channel_message_type_to_dim_channel",
        _sql("delete from dim_channel where message_type = 'LMS'"),
        1,
        {"message_id": "s3", "channel": "sms", "message_type": "LMS"},
    ),
    (
        "rpt_daily_channel",
        "outcomes_add_up",
        _sql(
            "update rpt_daily_channel set delivered = delivered + 1 "
            "where report_day = '{D1}' and message_type = 'SMS'"
        ),
        1,
        {"report_day": "D1", "channel": "sms", "message_type": "SMS"},
    ),
    (
        "rpt_daily_channel",
        "requested_reconciles_with_store",
        _sql("update rpt_daily_channel set requested = requested - 1 where message_type = 'PUSH'"),
        2,  # PUSH has rows on D0 and D1
        {"day": "D1", "model": 13, "store": 14},
    ),
    (
        "stg_messages",
        "reconciles_with_store_messages",
        # A row from before the export's cut that the export does not hold.
        lambda settings, store, seed, ids: _add_message(seed, store, seed.kst(seed.D1, 12)),
        1,
        {"day": "D1", "model": 14, "store": 15, "store_exported": 15},
    ),
    (
        "stg_messages",
        "reconciles_with_store_messages",
        _sql("delete from stg_messages where message_id = {p2}"),
        1,
        {"day": "D1", "model": 13, "store": 14},
    ),
]


@pytest.mark.parametrize(
    ("model", "name", "plant", "failing", "sample"), CASES, ids=[f"{c[0]}.{c[1]}" for c in CASES]
)
def test_a_check_passes_on_good_data_and_fails_on_bad(
    built: Ids,
    seed: ModuleType,
    settings: Settings,
    store: Store,
    model: str,
    name: str,
    plant: Plant,
    failing: int,
    sample: dict[str, Any],
) -> None:
    good = _check(settings, store, model, name)
    assert (good.passed, good.failing, good.samples, good.error) == (True, 0, (), None)

    plant(settings, store, seed, built)
    bad = _check(settings, store, model, name)

    assert (bad.passed, bad.failing, bad.error) == (False, failing, None)
    days = {"D0": seed.D0, "D1": seed.D1, "D2": seed.D2}
    want = {
        k: built.get(v, days[v].isoformat() if v in days else v) if isinstance(v, str) else v
        for k, v in sample.items()
    }
    assert any(want.items() <= s.items() for s in bad.samples), bad.samples


def test_reconciliation_skips_the_days_retention_purged_from_the_store(
    built: Ids, seed: ModuleType, settings: Settings, store: Store
) -> None:
    # The store lets go of D0's message rows; the analytics copy keeps them (retention).
    with store.session() as session:
        session.execute(delete(Message).where(Message.created_at < seed.kst(seed.D1, 0)))
    name = "reconciles_with_store_messages"
    # D0 + 1825 days: D0 is older than the message-row retention, D1 is not.
    after_purge = seed.kst(seed.D1, 12) + timedelta(days=settings.retention_message_rows_days)
    kept = _check(settings, store, "stg_messages", name, now=after_purge)
    assert kept.passed, kept.samples
    assert kept.details["days_compared"] == 2 and kept.details["store_total"] == 15

    # Within the window the same gap is a failure.
    within = _check(settings, store, "stg_messages", name, now=seed.kst(seed.D2, 12))
    assert not within.passed
    assert [(s["day"], s["model"], s["store"]) for s in within.samples] == [
        (seed.D0.isoformat(), 2, 0)
    ]


def test_rows_that_arrived_after_the_export_are_lag_not_a_failure(
    built: Ids, seed: ModuleType, settings: Settings, store: Store
) -> None:
    # Created after the export ran (its watermark is e1's completion, 00:00:02 KST on D2).
    _add_message(seed, store, seed.kst(seed.D2, 9))
    result = _check(settings, store, "stg_messages", "reconciles_with_store_messages")
    assert result.passed, result.samples
    details = result.details
    assert (details["model_total"], details["store_total"]) == (17, 18)
    # What the export had to hold: rows inserted 5 minutes (its overlap) before its
    # watermark; e1, created two seconds before it, was exported but is not required.
    assert details["store_total_exported"] == 16

    # The next export takes it in, and the day agrees exactly.
    export_to_parquet(store, settings)
    run_all(settings)
    again = _check(settings, store, "stg_messages", "reconciles_with_store_messages")
    assert again.passed and again.details["model_total"] == again.details["store_total"] == 18


def test_a_column_the_table_lacks_fails_naming_it(
    built: Ids, settings: Settings, store: Store
) -> None:
    spec = CheckSpec(
        model="fct_messages", name="not_null", kind="not_null", description="x",
        columns=("message_id", "recipient"),
    )  # fmt: skip
    [result] = run_model_checks(settings, ModelChecks("fct_messages", ("message_id",), (spec,)))
    assert not result.passed
    assert result.error is not None and "fct_messages has no column 'recipient'" in result.error


def test_an_expression_cannot_read_another_table(
    built: Ids, settings: Settings, store: Store
) -> None:
    # "select" is no keyword of an expression: taken for a column, and the table has none.
    spec = CheckSpec(
        model="rpt_daily_channel", name="sneaky", kind="expression", description="x",
        expression="requested in (select requested from stg_messages)",
    )  # fmt: skip
    declared = ModelChecks("rpt_daily_channel", ("report_day",), (spec,))
    [result] = run_model_checks(settings, declared)
    assert not result.passed and result.error is not None
    assert "no column 'select'" in result.error


def test_checks_before_any_model_is_built_fail_with_the_reason(settings: Settings) -> None:
    declared = load_declarations()["stg_messages"]
    results = run_model_checks(settings, declared)
    assert len(results) == len(declared.checks)
    assert all(not r.passed and r.error and "does not exist yet" in r.error for r in results)


def test_reconciliation_without_a_store_is_an_error_not_a_pass(
    built: Ids, settings: Settings
) -> None:
    declared = load_declarations()["stg_messages"]
    [result] = run_model_checks(settings, declared, names=["reconciles_with_store_messages"])
    assert not result.passed and result.error is not None and "needs the store" in result.error


def test_check_timing_is_recorded(built: Ids, settings: Settings, store: Store) -> None:
    result = _check(settings, store, "fct_messages", "unique_message_id", now=datetime.now())
    assert result.passed and result.seconds >= 0
