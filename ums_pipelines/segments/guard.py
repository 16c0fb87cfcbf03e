"""What a segment query may be, checked with DuckDB's own parser before it runs: one
SELECT (``WITH ... SELECT`` too) over the profile tables, nothing else.

The checks name the reason a query is refused. They are the first of two walls: the
query then runs in a connection that holds only the profile and has file, network and
extension access off with its configuration locked (``profile.profile_connection``), so
a trick the parser check missed still finds nothing to read or write.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import duckdb

__all__ = ["CheckedSql", "SegmentError", "check_segment_sql"]

# Table references a segment may use besides the profile tables and its own CTEs.
_ALLOWED_REFS = frozenset({"BASE_TABLE", "JOIN", "SUBQUERY", "EMPTY", "EXPRESSION_LIST"})
# Scalar functions that read the environment or settings of the server; with
# ``read_*``/``*_scan`` (files) they are refused even where DuckDB would refuse them too.
_FORBIDDEN_FUNCTIONS = frozenset(
    {"getenv", "current_setting", "query", "query_table", "glob", "read_text", "read_blob"}
)


class SegmentError(ValueError):
    """A segment refused or failed; ``reason`` is a short code (docs/targets.md)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(f"segment: {message}")


@dataclass(frozen=True)
class CheckedSql:
    query: str  # the one statement, without its trailing semicolon
    parameters: frozenset[str]  # "$name" names, or "1", "2" ... for "?" and "$1"
    tables: frozenset[str]


def _statement(sql: str) -> tuple[str, frozenset[str]]:
    parser = duckdb.connect(":memory:")
    try:
        statements = parser.extract_statements(sql)
    except duckdb.Error as exc:
        raise SegmentError("parse", f"the SQL does not parse: {exc}") from None
    finally:
        parser.close()
    if len(statements) != 1:
        kinds = ", ".join(s.type.name for s in statements) or "none"
        raise SegmentError(
            "statements", f"must be exactly one SELECT statement, found {len(statements)} ({kinds})"
        )
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        raise SegmentError(
            "not_select",
            f"only a SELECT may run, not {statement.type.name}: a segment reads, it never"
            " writes, attaches, installs or configures",
        )
    return statement.query.strip().rstrip(";").strip(), frozenset(statement.named_parameters)


def _tree(query: str) -> dict[str, Any]:
    parser = duckdb.connect(":memory:")
    try:
        row = parser.execute("SELECT json_serialize_sql(?)", [query]).fetchone()
    finally:
        parser.close()
    tree: dict[str, Any] = json.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        # PIVOT, SUMMARIZE and the like parse as SELECT but are rewritten statements.
        message = tree.get("error_message", "not a plain SELECT")
        raise SegmentError("not_select", f"only a plain SELECT may run: {message}")
    return tree


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _cte_names(tree: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for node in _walk(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            names.update(str(e["key"]).lower() for e in cte_map.get("map", []))
    return names


def _is_table_ref(node: dict[str, Any]) -> bool:
    return "class" not in node and "sample" in node and "alias" in node and "type" in node


def check_segment_sql(sql: str, tables: Collection[str]) -> CheckedSql:
    """The query if it is one SELECT reading only ``tables`` (and its own CTEs), else
    SegmentError naming why not."""
    if not sql or not sql.strip():
        raise SegmentError("empty", "the SQL is empty")
    query, parameters = _statement(sql)
    tree = _tree(query)
    allowed = {t.lower() for t in tables}
    ctes = _cte_names(tree)
    used: set[str] = set()
    for node in _walk(tree):
        if node.get("class") == "FUNCTION":
            name = str(node.get("function_name", "")).lower()
            if name in _FORBIDDEN_FUNCTIONS or name.startswith("read_") or name.endswith("_scan"):
                raise SegmentError("function", f"function {name}() is not allowed in a segment")
        if not _is_table_ref(node):
            continue
        kind = node["type"]
        if kind == "TABLE_FUNCTION":
            name = str(node.get("function", {}).get("function_name", "?"))
            raise SegmentError(
                "table_function",
                f"table function {name}() is not allowed: a segment reads only the profile"
                f" tables ({', '.join(sorted(allowed))})",
            )
        if kind not in _ALLOWED_REFS:
            raise SegmentError("table", f"a {kind} reference is not allowed in a segment")
        if kind != "BASE_TABLE":
            continue
        name = str(node.get("table_name", ""))
        qualified = ".".join(
            p for p in (node.get("catalog_name"), node.get("schema_name"), name) if p
        )
        if node.get("catalog_name") or node.get("schema_name"):
            raise SegmentError(
                "table", f"{qualified!r} is qualified: use the profile tables by their name"
            )
        if name.lower() in ctes:
            continue
        if name.lower() not in allowed:
            raise SegmentError(
                "table",
                f"table {name!r} is not a profile table; a segment reads only"
                f" {', '.join(sorted(allowed))}",
            )
        used.add(name.lower())
    return CheckedSql(query, parameters, frozenset(used))
