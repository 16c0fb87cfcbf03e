"""run_segment: a parameterised SELECT over the profile (read from the store on SQLite and
PostgreSQL) returns the selected customer ids, under a row limit and a timeout."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from ums_pipelines.customers.optouts import OptOutScope, record_opt_out
from ums_pipelines.segments import SegmentError, load_profile, run_segment, sql_sha256
from ums_pipelines.store.models import Customer


@pytest.fixture
def people(bank: Any) -> Any:
    for i, (branch, kind) in enumerate(
        [("강남지점", "loan"), ("강남지점", "deposit"), ("종로지점", "loan"), ("강남지점", None)]
    ):
        bank.add_customer(f"S{i}", branch=branch, phone=f"010{40000000 + i:08d}")
        with bank.store.session() as session:
            session.execute(
                update(Customer)
                .where(Customer.customer_id == f"S{i}")
                .values(
                    last_transaction_kind=kind,
                    last_transaction_at=datetime(2026, 1 + i, 1, tzinfo=UTC) if kind else None,
                )
            )
    with bank.store.session() as session:
        now = datetime.now(UTC)
        record_opt_out(
            session,
            "S1",
            OptOutScope(channel="sms"),
            source="mo",
            reference=None,
            reason="test",
            at=now,
            now=now,
            actor="test",
        )
    return bank


def test_parameterised_segment(people: Any) -> None:
    sql = (
        "SELECT customer_id FROM customers WHERE branch = $branch"
        " AND last_transaction_kind = $kind AND last_transaction_at >= CAST($since AS DATE)"
    )
    found = run_segment(
        people.store,
        people.settings,
        sql,
        {"branch": "강남지점", "kind": "loan", "since": "2026-01-01"},
    )
    assert found.ids.to_list() == ["S0"]
    assert found.source() == {
        "kind": "segment",
        "sql_sha256": sql_sha256(sql),
        "params": {"branch": "강남지점", "kind": "loan", "since": "2026-01-01"},
        "candidates": 1,
    }
    # Positional values, a CTE, and the opt-outs and consents tables.
    later = run_segment(
        people.store,
        people.settings,
        "WITH b AS (SELECT customer_id FROM customers WHERE branch = ?)"
        " SELECT customer_id FROM b WHERE customer_id NOT IN"
        " (SELECT customer_id FROM opt_outs WHERE withdrawn_at IS NULL)"
        " AND customer_id IN (SELECT customer_id FROM consents WHERE granted)",
        ["강남지점"],
    )
    assert later.ids.to_list() == ["S0", "S3"]


def test_profile_has_no_contact_data(people: Any) -> None:
    frames = load_profile(people.store)
    assert frames["customers"].height == 4
    for frame in frames.values():
        assert not {"name", "phone", "email", "push_token"} & set(frame.columns)
    assert frames["customers"].filter(has_phone=True).height == 4
    with pytest.raises(SegmentError, match=r"the query failed: .*phone") as failed:
        run_segment(people.store, people.settings, "SELECT customer_id, phone FROM customers")
    assert failed.value.reason == "query"


@pytest.mark.parametrize(
    ("sql", "params", "reason", "message"),
    [
        ("SELECT branch FROM customers", None, "no_customer_id", "customer_id column"),
        ("SELECT customer_id FROM customers WHERE branch = $b", {}, "params", "$b has no value"),
        ("SELECT customer_id FROM customers", {"b": "x"}, "params", "'b' is not used"),
        ("SELECT customer_id FROM customers WHERE branch = ?", [], "params", "1 parameters, 0"),
        ("SELECT customer_id FROM customers WHERE branch = $b", ["x"], "params", "by name"),
        ("ATTACH 'other.db' AS o", None, "not_select", "not ATTACH"),
        ("SELECT customer_id FROM read_csv('x.csv')", None, "table_function", "read_csv()"),
        ("SELECT customer_id FROM audit_log", None, "table", "'audit_log'"),
    ],
)
def test_refused(people: Any, sql: str, params: Any, reason: str, message: str) -> None:
    with pytest.raises(SegmentError) as refused:
        run_segment(people.store, people.settings, sql, params)
    assert refused.value.reason == reason and message in str(refused.value)


def test_row_limit(people: Any) -> None:
    sql = "SELECT customer_id FROM customers"
    assert run_segment(people.store, people.settings, sql, row_limit=4).count == 4
    with pytest.raises(SegmentError, match="more than 3 customers") as refused:
        run_segment(people.store, people.settings, sql, row_limit=3)
    assert refused.value.reason == "row_limit"
    limited = people.settings.model_copy(update={"segment_row_limit": 2})
    with pytest.raises(SegmentError, match="UMS_SEGMENT_ROW_LIMIT"):
        run_segment(people.store, limited, sql)


def test_timeout(people: Any) -> None:
    endless = (
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 1000000000000)"
        " SELECT c.customer_id FROM customers c, (SELECT max(n) AS m FROM t) WHERE m > 0"
    )
    with pytest.raises(SegmentError, match=r"ran longer than 0\.2 s and was stopped") as stopped:
        run_segment(people.store, people.settings, endless, timeout_s=0.2)
    assert stopped.value.reason == "timeout"
