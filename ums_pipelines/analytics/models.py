"""The SQL models: discovery, dependency order, and materialisation into the analytics file.

Each ``sql/<layer>/<name>.sql`` is one plain SELECT. A model depends on every other
model (or source view) whose name it mentions; names are matched only against the
registry of discovered files, so a CTE or a column never becomes a dependency unless it
is spelled like a model. The analytics DuckDB file has one writer at a time (DESIGN.md
§3): it is opened read-write only for the duration of one model, and readers use
:func:`read_only_connection`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from ums_pipelines.analytics.schema import SOURCES, SourceTable
from ums_pipelines.settings import Settings

__all__ = [
    "LAYERS",
    "SOURCE_VIEWS",
    "Model",
    "ModelError",
    "ModelResult",
    "list_models",
    "read_only_connection",
    "run_all",
    "run_model",
    "sql_dir",
]

# Layer -> allowed name prefixes. A model may read only its own or earlier layers, and
# only staging reads the sources: staging is the one place that knows the raw layout.
LAYERS: dict[str, tuple[str, ...]] = {
    "staging": ("stg_",),
    "marts": ("fct_", "dim_"),
    "reports": ("rpt_",),
}
SOURCE_VIEWS: tuple[str, ...] = tuple(s.view for s in SOURCES)

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Comments and string literals are skipped so that neither hides nor invents a name.
_TOKENS = re.compile(
    r"""--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*)|(;)""",
    re.DOTALL,
)
# A reader retries this long while the single writer holds the file lock, and vice versa.
_LOCK_WAIT_SECONDS = 60.0


class ModelError(Exception):
    """A model file or the model graph is not valid, or a model cannot run yet."""


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path
    sql: str
    deps: tuple[str, ...]  # models and source views, in name order

    @property
    def upstream_models(self) -> tuple[str, ...]:
        """The models this one reads (its dependencies without the source views)."""
        return tuple(d for d in self.deps if d not in SOURCE_VIEWS)

    @property
    def sources(self) -> tuple[str, ...]:
        """The source views (over the Parquet export) this model reads."""
        return tuple(d for d in self.deps if d in SOURCE_VIEWS)


@dataclass(frozen=True)
class ModelResult:
    rows: int
    seconds: float


def sql_dir() -> Path:
    """The SQL models: ``ums_pipelines/_sql`` in a wheel, the repository's ``sql/`` otherwise."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_sql", package.parent / "sql"):
        if candidate.is_dir():
            return candidate
    raise ModelError(f"no SQL models found next to {package}")


def list_models(root: Path | None = None) -> list[Model]:
    """Every model, dependencies before dependants (then by layer and name)."""
    return list(_discover(root or sql_dir()).values())


def run_model(name: str, settings: Settings) -> ModelResult:
    """Materialise one model as a table; the models it reads must already be built."""
    models = _discover(sql_dir())
    model = models.get(name)
    if model is None:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(models)}")
    started = time.perf_counter()
    settings.analytics_path.parent.mkdir(parents=True, exist_ok=True)
    with _connect(settings.analytics_path, read_only=False) as conn:
        _prepare(conn, settings)
        missing = [d for d in model.deps if d in models and not _table_exists(conn, d)]
        if missing:
            raise ModelError(f"{name} reads {', '.join(missing)}: build those first")
        # Identifiers are model names from the registry (checked against _NAME), quoted.
        table = _quote(model.name)
        conn.execute(f"CREATE OR REPLACE TABLE {table} AS {model.sql}")
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    rows = int(count[0]) if count else 0
    return ModelResult(rows=rows, seconds=time.perf_counter() - started)


def run_all(settings: Settings) -> dict[str, ModelResult]:
    """Materialise every model in dependency order."""
    return {m.name: run_model(m.name, settings) for m in list_models()}


@contextmanager
def read_only_connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the analytics file, for reports and ad-hoc readers."""
    if not settings.analytics_path.exists():
        raise FileNotFoundError(
            f"{settings.analytics_path} does not exist yet: run the analytics models first"
        )
    with _connect(settings.analytics_path, read_only=True) as conn:
        yield conn


@contextmanager
def _connect(path: Path, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    deadline = time.monotonic() + _LOCK_WAIT_SECONDS
    while True:
        try:
            conn = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            # Another process holds the file: the writer's window is one model, so wait.
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(0.25)
    try:
        yield conn
    finally:
        conn.close()


def _prepare(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Per-connection setup: session zone, the Korea-day macro, and the source views."""
    conn.execute("SET TimeZone = 'UTC'")  # implicit casts never depend on the host's zone
    conn.execute("SET VARIABLE ums_timezone = ?", [settings.timezone])
    conn.execute(
        "CREATE OR REPLACE TEMP MACRO local_day(ts) AS "
        "CAST(timezone(getvariable('ums_timezone'), ts) AS DATE)"
    )
    for source in SOURCES:
        conn.execute(
            f"CREATE OR REPLACE TEMP VIEW {_quote(source.view)} AS {_source_sql(source, settings)}"
        )


def _source_sql(source: SourceTable, settings: Settings) -> str:
    root = settings.parquet_dir / source.name
    has_files = root.is_dir() and any(root.glob("day=*/data.parquet"))
    if has_files:
        files = sorted(root.glob("day=*/data.parquet"), key=_mtime, reverse=True)
        cols = ", ".join(
            f"CAST({_quote(c.name)} AS {c.duckdb_type}) AS {_quote(c.name)}"
            if not c.optional or _any_has_column(files, c.name)
            else f"CAST(NULL AS {c.duckdb_type}) AS {_quote(c.name)}"
            for c in source.columns
        )
        # Table functions take no bind parameters; the path is quoted as a string literal.
        glob = _literal(str(root / "day=*" / "data.parquet"))
        return (
            f"SELECT {cols}, CAST(day AS DATE) AS day FROM read_parquet({glob}, "  # noqa: S608
            "hive_partitioning = true, union_by_name = true)"
        )
    # Nothing exported yet: same columns and types, no rows, so every model still builds.
    cols = ", ".join(f"CAST(NULL AS {c.duckdb_type}) AS {_quote(c.name)}" for c in source.columns)
    return f"SELECT {cols}, CAST(NULL AS DATE) AS day WHERE false"


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


def _any_has_column(files: list[Path], name: str) -> bool:
    """Whether any day file has ``name``: union_by_name fills the others with NULL, but a
    column no file has at all would fail the view."""
    # Newest first: once one file is rewritten with the column the scan stops there.
    return any(name in pl.read_parquet_schema(f) for f in files)


def _table_exists(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = conn.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = current_database() AND table_name = ? AND NOT temporary",
        [name],
    ).fetchone()
    return bool(found and found[0])


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _discover(root: Path) -> dict[str, Model]:
    files: dict[str, tuple[str, Path]] = {}
    for layer, prefixes in LAYERS.items():
        for path in sorted((root / layer).glob("*.sql")):
            name = path.stem
            if not _NAME.match(name) or not name.startswith(prefixes):
                raise ModelError(f"{path}: a {layer} model is named {'/'.join(prefixes)}<name>")
            if name in files or name in SOURCE_VIEWS:
                raise ModelError(f"{path}: model name {name!r} is already taken")
            files[name] = (layer, path)

    known = set(files) | set(SOURCE_VIEWS)
    models: dict[str, Model] = {}
    for name, (layer, path) in files.items():
        sql, mentioned = _parse(path)
        deps = tuple(sorted((mentioned & known) - {name}))
        for dep in deps:
            _check_layering(name, layer, dep, files)
        models[name] = Model(name=name, layer=layer, path=path, sql=sql, deps=deps)
    return _in_dependency_order(models)


def _parse(path: Path) -> tuple[str, set[str]]:
    """The SELECT without a trailing semicolon, and every identifier it mentions."""
    sql = path.read_text(encoding="utf-8").strip()
    while sql.endswith(";"):
        sql = sql[:-1].rstrip()
    words: list[str] = []
    for match in _TOKENS.finditer(sql):
        quoted, bare, semicolon = match.groups()
        if semicolon:
            raise ModelError(f"{path}: one SELECT per file, no ';' inside")
        if quoted is not None or bare is not None:
            words.append((quoted if quoted is not None else bare).lower())
    if not words or words[0] not in ("select", "with"):
        raise ModelError(f"{path}: a model is one SELECT (or WITH … SELECT) statement")
    return sql, set(words)


def _check_layering(name: str, layer: str, dep: str, files: dict[str, tuple[str, Path]]) -> None:
    order = list(LAYERS)
    if dep in SOURCE_VIEWS:
        if layer != "staging":
            raise ModelError(f"{name}: only staging models read {dep}; read its stg_ model")
    elif order.index(files[dep][0]) > order.index(layer):
        raise ModelError(f"{name} ({layer}) cannot read {dep} from the later layer")


def _in_dependency_order(models: dict[str, Model]) -> dict[str, Model]:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    pending = dict(models)
    ordered: dict[str, Model] = {}
    while pending:
        ready = [
            m for m in pending.values() if all(d in ordered or d not in models for d in m.deps)
        ]
        if not ready:
            raise ModelError(f"dependency cycle among {', '.join(sorted(pending))}")
        for model in sorted(ready, key=lambda m: (rank[m.layer], m.name)):
            ordered[model.name] = pending.pop(model.name)
    return ordered
