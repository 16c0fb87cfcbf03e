"""Done-when 3 of issue 7: a segment query that tries to write, attach a file, or read
outside the profile tables is refused with a clear error (checked by DuckDB's parser)."""

from __future__ import annotations

import pytest

from ums_pipelines.segments import PROFILE_TABLES, SegmentError, check_segment_sql

REFUSED = [
    ("INSERT INTO customers (customer_id) VALUES ('X')", "not_select", "not INSERT"),
    ("UPDATE customers SET branch = 'x'", "not_select", "not UPDATE"),
    ("DELETE FROM customers", "not_select", "not DELETE"),
    ("CREATE TABLE t AS SELECT customer_id FROM customers", "not_select", "not CREATE"),
    ("DROP TABLE customers", "not_select", "not DROP"),
    ("ALTER TABLE customers ADD COLUMN x INTEGER", "not_select", "not ALTER"),
    ("COPY customers TO 'out.csv'", "not_select", "not COPY"),
    ("COPY (SELECT customer_id FROM customers) TO 'out.csv'", "not_select", "not COPY"),
    ("ATTACH 'x.db' AS x", "not_select", "not ATTACH"),
    ("DETACH x", "not_select", "not DETACH"),
    ("INSTALL sqlite", "not_select", "only a SELECT may run"),
    ("LOAD sqlite", "not_select", "not LOAD"),
    ("PRAGMA database_list", "not_select", "not PRAGMA"),
    ("SET enable_external_access = true", "not_select", "not SET"),
    ("EXPORT DATABASE 'dump'", "not_select", "not EXPORT"),
    ("CALL pragma_version()", "not_select", "not CALL"),
    ("SUMMARIZE customers", "table", "SHOW_REF"),
    ("SELECT * FROM read_csv('/etc/passwd')", "table_function", "read_csv()"),
    ("SELECT * FROM read_parquet('x.parquet')", "table_function", "read_parquet()"),
    ("SELECT * FROM read_json_auto('x.json')", "table_function", "read_json_auto()"),
    ("SELECT * FROM glob('*')", "table_function", "glob()"),
    ("SELECT * FROM sqlite_scan('ums.db', 'customers')", "table_function", "sqlite_scan()"),
    ("SELECT * FROM duckdb_tables()", "table_function", "duckdb_tables()"),
    ("SELECT customer_id FROM 'x.csv'", "table", "'x.csv' is not a profile table"),
    ("SELECT customer_id FROM messages", "table", "'messages' is not a profile table"),
    ("SELECT customer_id FROM jobs", "table", "'jobs' is not a profile table"),
    ("SELECT entity_id AS customer_id FROM audit_log", "table", "'audit_log' is not a profile"),
    ("SELECT * FROM information_schema.tables", "table", "is qualified"),
    ("SELECT customer_id FROM main.customers", "table", "is qualified"),
    ("SELECT customer_id FROM customers UNION SELECT customer_id FROM jobs", "table", "'jobs'"),
    (
        "SELECT customer_id FROM customers WHERE customer_id IN (SELECT x FROM messages)",
        "table",
        "'messages'",
    ),
    ("SELECT getenv('UMS_DATABASE_URL') AS customer_id", "function", "getenv()"),
    ("SELECT current_setting('threads') AS customer_id", "function", "current_setting()"),
    ("SELECT 1; DROP TABLE customers", "statements", "found 2 (SELECT, DROP)"),
    ("SELECT customer_id FROM customers --\n; DROP TABLE customers", "statements", "found 2"),
    ("SELECT customer_id FROM customers /* ; */ ; DELETE FROM customers", "statements", "found 2"),
    ("SELEC customer_id FROM customers", "parse", "does not parse"),
    ("   ", "empty", "empty"),
]


@pytest.mark.parametrize(("sql", "reason", "message"), REFUSED)
def test_refused_with_reason(sql: str, reason: str, message: str) -> None:
    with pytest.raises(SegmentError) as refused:
        check_segment_sql(sql, PROFILE_TABLES)
    assert refused.value.reason == reason
    assert str(refused.value).startswith("segment: ")
    assert message in str(refused.value)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT customer_id FROM customers WHERE branch = $branch",
        "FROM customers SELECT customer_id WHERE NOT deceased;",
        "WITH recent AS (SELECT customer_id FROM customers WHERE last_transaction_at >= ?)"
        " SELECT customer_id FROM recent",
        "SELECT c.customer_id FROM customers c JOIN consents k USING (customer_id)"
        " WHERE k.granted AND NOT EXISTS (SELECT 1 FROM opt_outs o"
        " WHERE o.customer_id = c.customer_id AND o.withdrawn_at IS NULL)",
        "SELECT customer_id FROM customers -- a trailing comment",
    ],
)
def test_allowed(sql: str) -> None:
    checked = check_segment_sql(sql, PROFILE_TABLES)
    assert not checked.query.endswith(";")
    assert checked.tables <= PROFILE_TABLES


def test_parameters_named() -> None:
    checked = check_segment_sql(
        "SELECT customer_id FROM customers WHERE branch = $b AND preferred_channel = $c",
        PROFILE_TABLES,
    )
    assert checked.parameters == {"b", "c"}
