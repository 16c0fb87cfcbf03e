"""The declared tests of the SQL models (``sql/schema.yml``), loaded and validated.

dbt-style: each model names its grain (``key``) and a list of checks, each a one-key
mapping ``{kind: arguments}``. What can be validated without the DuckDB file is validated
here (model names against the registry, check kinds and their arguments, store tables,
expression words); column names are checked against the built table when the checks run
(:mod:`ums_pipelines.analytics.checks`), since only the table knows its columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from ums_pipelines.analytics.models import list_models, sql_dir
from ums_pipelines.analytics.schema import SOURCES

__all__ = [
    "EXPRESSION_WORDS",
    "KINDS",
    "STORE_TABLES",
    "CheckDeclarationError",
    "CheckSpec",
    "ModelChecks",
    "expression_columns",
    "load_declarations",
    "schema_path",
]

KINDS = (
    "unique",
    "not_null",
    "accepted_values",
    "relationships",
    "expression",
    "reconciles_with_store",
)
# Store tables a reconciliation may count: the exported ones, whose Korea day is known.
STORE_TABLES: tuple[str, ...] = tuple(s.name for s in SOURCES)
# Words an expression may use besides the model's columns. Anything else that looks like
# a name must be a column of the table, so an expression cannot reach another table
# (no SELECT, no FROM) or call a function outside this list.
EXPRESSION_WORDS = frozenset(
    {"and", "or", "not", "is", "null", "true", "false", "between", "in", "like", "case"}
    | {"when", "then", "else", "end", "distinct", "from"}  # "is distinct from" only
)
EXPRESSION_FUNCTIONS = frozenset({"abs", "coalesce", "round", "least", "greatest", "nullif"})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CHECK_NAME = re.compile(r"^[A-Za-z0-9_]{1,100}$")
_EXPR_TOKENS = re.compile(
    r"""\s+|'(?:[^']|'')*'|(?P<num>\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<call>\()?"""
    r"""|(?P<op><>|!=|>=|<=|[-+*/%=<>(),])"""
)
_ARGS: dict[str, set[str]] = {
    "unique": {"columns"},
    "not_null": {"columns"},
    "accepted_values": {"column", "values"},
    "relationships": {"column", "columns", "to", "field", "fields"},
    "expression": {"sql"},
    "reconciles_with_store": {"table", "day", "sum"},
}
_COMMON = {"name", "severity", "description"}


class CheckDeclarationError(ValueError):
    """A declaration names an unknown model, column, check kind or argument."""


@dataclass(frozen=True)
class CheckSpec:
    model: str
    name: str
    kind: str
    description: str
    severity: Literal["error", "warn"] = "error"
    columns: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()  # accepted_values
    to_model: str | None = None  # relationships
    to_columns: tuple[str, ...] = ()
    expression: str | None = None
    store_table: str | None = None  # reconciles_with_store
    day: str | None = None
    measure: str | None = None  # summed column; None counts rows

    def referenced_columns(self) -> tuple[str, ...]:
        """Every column of the checked model this check reads."""
        extra: tuple[str | None, ...] = ()
        if self.kind == "reconciles_with_store":
            extra = (self.day, self.measure)
        elif self.kind == "expression" and self.expression:
            extra = expression_columns(self.expression)
        return tuple(dict.fromkeys([*self.columns, *(c for c in extra if c)]))


@dataclass(frozen=True)
class ModelChecks:
    model: str
    key: tuple[str, ...]  # the grain: sample rows of a failed check are shown by it
    checks: tuple[CheckSpec, ...]


def schema_path() -> Path:
    """``schema.yml`` next to the model folders."""
    return sql_dir() / "schema.yml"


def load_declarations(
    path: Path | None = None, models: Iterable[str] | None = None
) -> dict[str, ModelChecks]:
    """The declarations by model, validated against the model registry."""
    path = path or schema_path()
    known = set(models) if models is not None else {m.name for m in list_models()}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CheckDeclarationError(f"{path}: cannot read: {exc}") from exc
    where = path.name
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), dict):
        raise CheckDeclarationError(f"{where}: expected a mapping with 'models:'")
    out: dict[str, ModelChecks] = {}
    for model, body in doc["models"].items():
        if model not in known:
            raise CheckDeclarationError(
                f"{where}: unknown model {model!r}; known: {', '.join(sorted(known))}"
            )
        out[model] = _model(f"{where}: {model}", model, body, known)
    return out


def expression_columns(sql: str) -> tuple[str, ...]:
    """The column names an expression mentions; rejects anything else that is a name."""
    columns: list[str] = []
    pos = 0
    while pos < len(sql):
        match = _EXPR_TOKENS.match(sql, pos)
        if match is None or match.end() == pos:
            raise CheckDeclarationError(f"expression {sql!r}: unexpected {sql[pos : pos + 10]!r}")
        pos = match.end()
        word = match.group("word")
        if word is None:
            continue
        lower = word.lower()
        if lower in EXPRESSION_WORDS:
            continue
        if match.group("call"):
            if lower not in EXPRESSION_FUNCTIONS:
                raise CheckDeclarationError(
                    f"expression {sql!r}: function {word!r} is not allowed; "
                    f"allowed: {', '.join(sorted(EXPRESSION_FUNCTIONS))}"
                )
        else:
            columns.append(lower)
    if not columns:
        raise CheckDeclarationError(f"expression {sql!r}: mentions no column")
    return tuple(dict.fromkeys(columns))


def _model(where: str, model: str, body: Any, known: set[str]) -> ModelChecks:
    if not isinstance(body, dict) or set(body) - {"key", "checks", "description"}:
        raise CheckDeclarationError(f"{where}: expected 'key:' and 'checks:' only")
    key = _names(where, "key", body.get("key"))
    raw = body.get("checks")
    if not isinstance(raw, list) or not raw:
        raise CheckDeclarationError(f"{where}: 'checks:' must be a non-empty list")
    checks: list[CheckSpec] = []
    for i, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise CheckDeclarationError(f"{where}: check {i} must be one {{kind: arguments}}")
        [(kind, args)] = entry.items()
        if kind not in KINDS:
            raise CheckDeclarationError(
                f"{where}: check {i}: unknown kind {kind!r}; known: {', '.join(KINDS)}"
            )
        checks.append(_check(f"{where}: check {i} ({kind})", model, kind, args, known))
    names = [c.name for c in checks]
    for name in names:
        if names.count(name) > 1:
            raise CheckDeclarationError(f"{where}: two checks named {name!r}; give one a name:")
    return ModelChecks(model=model, key=key, checks=tuple(checks))


def _check(where: str, model: str, kind: str, args: Any, known: set[str]) -> CheckSpec:
    if isinstance(args, list) and kind in ("unique", "not_null"):
        args = {"columns": args}
    if not isinstance(args, dict):
        raise CheckDeclarationError(f"{where}: arguments must be a mapping")
    unknown = set(args) - _ARGS[kind] - _COMMON
    if unknown:
        raise CheckDeclarationError(f"{where}: unknown argument(s) {', '.join(sorted(unknown))}")
    severity = args.get("severity", "error")
    if severity not in ("error", "warn"):
        raise CheckDeclarationError(f"{where}: severity {severity!r} is not error or warn")
    fields: dict[str, Any] = {}
    if kind in ("unique", "not_null"):
        fields["columns"] = _names(where, "columns", args.get("columns"))
        # Short names for the usual one-per-model declarations; a second one names itself.
        default = "not_null" if kind == "not_null" else "unique_key"
        if kind == "unique" and len(fields["columns"]) == 1:
            default = f"unique_{fields['columns'][0]}"
        text = f"{kind.replace('_', ' ')}: {', '.join(fields['columns'])}"
    elif kind == "accepted_values":
        fields["columns"] = _names(where, "column", [args.get("column")])
        values = args.get("values")
        if not isinstance(values, list) or not values:
            raise CheckDeclarationError(f"{where}: 'values' must be a non-empty list")
        fields["values"] = tuple(values)
        default = f"accepted_values_{fields['columns'][0]}"
        text = f"{fields['columns'][0]} is one of {', '.join(map(str, values))}"
    elif kind == "relationships":
        fields.update(_relationship(where, args, known))
        default = f"relationships_{'_'.join(fields['columns'])}_to_{fields['to_model']}"
        text = (
            f"every {', '.join(fields['columns'])} is in "
            f"{fields['to_model']}.{', '.join(fields['to_columns'])}"
        )
    elif kind == "expression":
        sql = args.get("sql")
        if not isinstance(sql, str) or not sql.strip() or "name" not in args:
            raise CheckDeclarationError(f"{where}: needs 'name' and 'sql'")
        expression_columns(sql)  # fails early on a word that is neither column nor keyword
        fields["expression"] = sql.strip()
        default, text = "", f"every row: {sql.strip()}"
    else:
        fields.update(_reconciliation(where, args))
        default = f"reconciles_with_store_{fields['store_table']}"
        measure = f"sum({fields['measure']})" if fields["measure"] else "rows"
        text = f"{measure} per {fields['day']} equal the store's {fields['store_table']}"
    name = args.get("name", default)
    if not isinstance(name, str) or not _CHECK_NAME.match(name):
        raise CheckDeclarationError(f"{where}: name {name!r} must be letters, digits and _")
    description = args.get("description") or f"{model}: {text}"
    return CheckSpec(
        model=model, name=name, kind=kind, description=str(description), severity=severity,
        **fields,
    )  # fmt: skip


def _relationship(where: str, args: Mapping[str, Any], known: set[str]) -> dict[str, Any]:
    columns = _one_or_many(where, args, "column", "columns")
    to = args.get("to")
    if not isinstance(to, str):
        raise CheckDeclarationError(f"{where}: 'to' must name a model")
    to_model, _, field = to.partition(".")
    if to_model not in known:
        raise CheckDeclarationError(f"{where}: 'to' names unknown model {to_model!r}")
    if field:
        args = {**args, "field": field}
    to_columns = _one_or_many(where, args, "field", "fields")
    if len(to_columns) != len(columns):
        raise CheckDeclarationError(f"{where}: {len(columns)} column(s) but {len(to_columns)}")
    return {"columns": columns, "to_model": to_model, "to_columns": to_columns}


def _reconciliation(where: str, args: Mapping[str, Any]) -> dict[str, Any]:
    table = args.get("table")
    if table not in STORE_TABLES:
        raise CheckDeclarationError(
            f"{where}: table {table!r} is not an exported store table; "
            f"known: {', '.join(STORE_TABLES)}"
        )
    [day] = _names(where, "day", [args.get("day")])
    measure = args.get("sum")
    if measure is not None:
        [measure] = _names(where, "sum", [measure])
    return {"store_table": table, "day": day, "measure": measure}


def _one_or_many(where: str, args: Mapping[str, Any], one: str, many: str) -> tuple[str, ...]:
    if (one in args) == (many in args):
        raise CheckDeclarationError(f"{where}: give exactly one of '{one}' and '{many}'")
    return _names(where, many, args[many] if many in args else [args[one]])


def _names(where: str, field: str, value: Any) -> tuple[str, ...]:
    if value is None or value == [None]:
        raise CheckDeclarationError(f"{where}: '{field}' is missing")
    if not isinstance(value, list) or not value:
        raise CheckDeclarationError(f"{where}: '{field}' must be a non-empty list of columns")
    for name in value:
        if not isinstance(name, str) or not _NAME.match(name):
            raise CheckDeclarationError(f"{where}: '{field}': {name!r} is not a column name")
    return tuple(value)
