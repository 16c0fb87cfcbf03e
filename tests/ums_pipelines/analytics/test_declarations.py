"""sql/schema.yml parsing: valid declarations load with their defaults, and every mistake
is refused with an error naming the model, the check and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from ums_pipelines.analytics.declarations import (
    CheckDeclarationError,
    expression_columns,
    load_declarations,
)

MODELS = {"stg_messages", "fct_messages", "dim_channel"}


def test_a_declaration_loads_with_default_names_and_descriptions(tmp_path: Path) -> None:
    got = load_declarations(
        _write(
            tmp_path,
            """
models:
  fct_messages:
    key: [message_id]
    checks:
      - unique: [message_id]
      - not_null: [message_id, channel]
      - accepted_values: {column: outcome, values: [delivered, failed]}
      - relationships: {columns: [channel, message_type], to: dim_channel,
                        fields: [channel, message_type], severity: warn}
      - expression: {name: sane, sql: "coalesce(latency_seconds, 0) >= 0 and leg in (0, 1)"}
      - reconciles_with_store: {table: messages, day: sent_day, sum: requested}
""",
        ),
        MODELS,
    )["fct_messages"]
    assert [(c.name, c.kind) for c in got.checks] == [
        ("unique_message_id", "unique"),
        ("not_null", "not_null"),
        ("accepted_values_outcome", "accepted_values"),
        ("relationships_channel_message_type_to_dim_channel", "relationships"),
        ("sane", "expression"),
        ("reconciles_with_store_messages", "reconciles_with_store"),
    ]
    rel, expr, rec = got.checks[3], got.checks[4], got.checks[5]
    assert (rel.to_model, rel.to_columns, rel.severity) == (
        "dim_channel",
        ("channel", "message_type"),
        "warn",
    )
    assert expr.referenced_columns() == ("latency_seconds", "leg")
    assert (rec.store_table, rec.day, rec.measure) == ("messages", "sent_day", "requested")
    assert rec.referenced_columns() == ("sent_day", "requested")
    assert got.checks[2].description == "fct_messages: outcome is one of delivered, failed"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schema.yml"
    path.write_text(text, encoding="utf-8")
    return path


def _one(check: str, key: str = "[message_id]", model: str = "fct_messages") -> str:
    return f"models:\n  {model}:\n    key: {key}\n    checks:\n      - {check}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models: [a]", "expected a mapping with 'models:'"),
        (_one("unique: [message_id]", model="fct_nope"), "unknown model 'fct_nope'"),
        (_one("unique_key: [message_id]"), "check 1: unknown kind 'unique_key'"),
        (_one("unique: []"), "fct_messages: check 1 (unique): 'columns' must be a non-empty"),
        (_one("not_null: {columns: [a], colour: red}"), "unknown argument(s) colour"),
        (_one('not_null: ["Bad Name"]'), "'Bad Name' is not a column name"),
        (_one("accepted_values: {column: state}"), "'values' must be a non-empty list"),
        (_one("relationships: {column: a, to: fct_nope.id}"), "unknown model 'fct_nope'"),
        (_one("relationships: {column: a, columns: [a], to: dim_channel.c}"), "exactly one of"),
        (_one("relationships: {columns: [a, b], to: dim_channel.c}"), "2 column(s) but 1"),
        (_one("expression: {sql: a > 0}"), "needs 'name' and 'sql'"),
        (_one("expression: {name: x, sql: 'len(a) > 0'}"), "function 'len' is not allowed"),
        (_one('expression: {name: x, sql: "a.b > 0"}'), "unexpected '.b > 0'"),
        (_one("expression: {name: x, sql: 1 = 1}"), "mentions no column"),
        (_one("reconciles_with_store: {table: customers, day: d}"), "table 'customers'"),
        (_one("reconciles_with_store: {table: messages}"), "'day' is missing"),
        (_one("accepted_values: {values: [a]}"), "(accepted_values): 'column' is missing"),
        (_one("unique: {columns: [a], severity: fatal}"), "severity 'fatal'"),
        (_one("unique: {columns: [a], name: 'has space'}"), "name 'has space'"),
        (_one("unique: [a]", key="[]"), "'key' must be a non-empty list"),
        (_one("{unique: [a], not_null: [a]}"), "check 1 must be one {kind: arguments}"),
        (
            "models:\n  fct_messages:\n    key: [a]\n    checks:\n"
            "      - not_null: [a]\n      - not_null: [b]\n",
            "two checks named 'not_null'",
        ),
        ("models:\n  fct_messages:\n    key: [a]\n    checks: []\n", "non-empty list"),
        ("models: {fct_messages: {key: [a], checks: [x], tests: []}}", "'key:' and 'checks:'"),
        ("models: {a: [", "cannot read"),
    ],
)
def test_mistakes_are_refused_naming_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CheckDeclarationError) as err:
        load_declarations(_write(tmp_path, text), MODELS)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("sql", "columns"),
    [
        ("delivered + failed = requested", ("delivered", "failed", "requested")),
        ("state in ('a', 'b''c') or x is not null", ("state", "x")),
        ("success_rate is null or success_rate between 0 and 1", ("success_rate",)),
        ("a is distinct from b", ("a", "b")),
        ("COALESCE(A, 0) >= round(b, 2)", ("a", "b")),
    ],
)
def test_expression_columns(sql: str, columns: tuple[str, ...]) -> None:
    assert expression_columns(sql) == columns


def test_the_repository_declarations_load() -> None:
    declared = load_declarations()
    assert "rpt_daily_channel" in declared
    names = [c.name for c in declared["rpt_daily_channel"].checks]
    assert "outcomes_add_up" in names and "requested_reconciles_with_store" in names
