"""SQL model discovery, dependency order, materialisation and the one-writer rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ums_pipelines.analytics import (
    ModelError,
    list_models,
    read_only_connection,
    run_all,
    run_model,
    sql_dir,
)
from ums_pipelines.settings import Settings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def bare_settings(tmp_path: Path) -> Settings:
    """Settings with no store and no Parquet yet: the runner must not need either."""
    return Settings(home=tmp_path / "home")


def _write(root: Path, rel: str, sql: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql, encoding="utf-8")


def test_sql_dir_is_the_repository_sql_folder() -> None:
    assert sql_dir() == REPO / "sql"


def test_list_models_in_dependency_order_with_layers_and_deps() -> None:
    models = [(m.name, m.layer, m.deps) for m in list_models()]
    assert models == [
        ("stg_delivery_events", "staging", ("src_delivery_events",)),
        ("stg_link_clicks", "staging", ("src_link_clicks",)),
        ("stg_messages", "staging", ("src_messages",)),
        ("stg_mo_replies", "staging", ("src_mo_messages",)),
        ("dim_channel", "marts", ("stg_messages",)),
        ("fct_messages", "marts", ("stg_delivery_events", "stg_messages")),
        (
            "fct_responses",
            "marts",
            (
                "fct_messages",
                "stg_delivery_events",
                "stg_link_clicks",
                "stg_messages",
                "stg_mo_replies",
            ),
        ),
        ("rpt_daily_channel", "reports", ("dim_channel", "fct_messages")),
        ("rpt_period_failure", "reports", ("fct_messages",)),
        ("rpt_period_segment", "reports", ("fct_messages",)),
        ("rpt_daily_response", "reports", ("fct_responses",)),
    ]
    by_name = {m.name: m for m in list_models()}
    assert by_name["stg_messages"].sources == ("src_messages",)
    assert by_name["stg_messages"].upstream_models == ()
    assert by_name["fct_messages"].upstream_models == ("stg_delivery_events", "stg_messages")
    assert by_name["fct_messages"].sources == ()


def test_dependencies_come_from_names_not_comments_or_strings(tmp_path: Path) -> None:
    _write(tmp_path, "staging/stg_a.sql", "select * from src_messages")
    _write(
        tmp_path,
        "marts/fct_b.sql",
        "-- built like fct_c\nselect 'stg_x' as s, * from \"STG_A\" /* not fct_c */;\n",
    )
    _write(tmp_path, "marts/fct_c.sql", "with fct_b2 as (select * from fct_b) select * from fct_b2")
    got = {m.name: m.deps for m in list_models(tmp_path)}
    assert got == {"stg_a": ("src_messages",), "fct_b": ("stg_a",), "fct_c": ("fct_b",)}
    assert [m.name for m in list_models(tmp_path)] == ["stg_a", "fct_b", "fct_c"]
    assert list_models(tmp_path)[1].sql.endswith("not fct_c */")  # trailing ';' dropped


@pytest.mark.parametrize(
    ("rel", "sql", "message"),
    [
        ("marts/stg_wrong.sql", "select 1", "named"),
        ("staging/stg_two.sql", "select 1; select 2", "one SELECT"),
        ("staging/stg_ddl.sql", "drop table fct_x", "one SELECT"),
        ("marts/fct_raw.sql", "select * from src_messages", "only staging"),
        ("staging/stg_up.sql", "select * from fct_ok", "later layer"),
        ("marts/dim_loop.sql", "select * from fct_ok", "cycle"),
    ],
)
def test_invalid_models_are_refused(tmp_path: Path, rel: str, sql: str, message: str) -> None:
    loop = "select * from dim_loop" if "loop" in rel else "select 1"
    _write(tmp_path, "marts/fct_ok.sql", loop)
    _write(tmp_path, rel, sql)
    with pytest.raises(ModelError, match=message):
        list_models(tmp_path)


def test_models_build_on_empty_typed_sources(bare_settings: Settings) -> None:
    results = run_all(bare_settings)
    assert list(results) == [m.name for m in list_models()]
    assert {name: r.rows for name, r in results.items()} == {
        "stg_delivery_events": 0,
        "stg_link_clicks": 0,
        "stg_messages": 0,
        "stg_mo_replies": 0,
        "dim_channel": 5,
        "fct_messages": 0,
        "fct_responses": 0,
        "rpt_daily_channel": 0,
        "rpt_daily_response": 0,
        "rpt_period_failure": 0,
        "rpt_period_segment": 0,
    }
    with read_only_connection(bare_settings) as db:
        kinds = dict(
            db.execute("select column_name, column_type from (describe stg_messages)").fetchall()
        )
        tables = {r[0] for r in db.execute("select table_name from duckdb_tables()").fetchall()}
    assert kinds["created_at"] == "TIMESTAMP WITH TIME ZONE"
    # Source views are temporary: the analytics file holds only the models.
    assert tables == set(results)


def test_run_model_needs_its_inputs_built_first(bare_settings: Settings) -> None:
    with pytest.raises(ModelError, match="fct_messages"):
        run_model("rpt_daily_channel", bare_settings)
    with pytest.raises(ModelError, match="unknown model"):
        run_model("rpt_nope", bare_settings)


def test_run_model_replaces_its_table(bare_settings: Settings) -> None:
    run_model("stg_messages", bare_settings)
    first = run_model("dim_channel", bare_settings)
    second = run_model("dim_channel", bare_settings)
    assert first.rows == second.rows == 5
    assert second.seconds >= 0


def test_read_only_connection_cannot_write(bare_settings: Settings) -> None:
    missing = pytest.raises(FileNotFoundError, match="run the analytics models")
    with missing, read_only_connection(bare_settings):
        pass
    run_model("stg_messages", bare_settings)
    with read_only_connection(bare_settings) as db, pytest.raises(duckdb.Error, match="read-only"):
        db.execute("create table x as select 1")


def test_sql_dir_prefers_the_copy_inside_an_installed_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ums_pipelines.analytics import models

    module = tmp_path / "site" / "ums_pipelines" / "analytics" / "models.py"
    monkeypatch.setattr(models, "__file__", str(module))
    with pytest.raises(ModelError, match="no SQL models"):
        sql_dir()
    (tmp_path / "site" / "ums_pipelines" / "_sql").mkdir(parents=True)
    assert sql_dir() == tmp_path / "site" / "ums_pipelines" / "_sql"


_HOLD_WRITER = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.readline()
conn.close()
"""


def test_reader_waits_while_another_process_writes(
    bare_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ums_pipelines.analytics import models

    run_model("stg_messages", bare_settings)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_WRITER, str(bare_settings.analytics_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    real_sleep = models.time.sleep
    waits: list[float] = []

    def release_on_first_wait(seconds: float) -> None:
        # Called only after a connect attempt met the writer's lock: now let it go.
        # time.sleep is patched process-wide, and Popen.wait sleeps too: record first.
        first = not waits
        waits.append(seconds)
        if first:
            holder.stdin.write("go\n")  # type: ignore[union-attr]
            holder.stdin.flush()  # type: ignore[union-attr]
            holder.wait(timeout=60)
        real_sleep(seconds)

    monkeypatch.setattr(models.time, "sleep", release_on_first_wait)
    try:
        with read_only_connection(bare_settings) as db:
            assert db.execute("select count(*) from stg_messages").fetchone() == (0,)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert waits, "the reader never met the writer's lock"
