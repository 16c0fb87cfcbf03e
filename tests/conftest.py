"""Shared fixtures: every store test runs on SQLite (WAL) and on PostgreSQL."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sqlite3
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from ums_pipelines.settings import Settings
from ums_pipelines.store import Store

PG_URL = os.environ.get("UMS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# pytester: tests/test_pii_log_guard.py runs an inner pytest to see the guard fail a test.
pytest_plugins = ["pytester"]
_GUARD_NAME = "ums_pii_log_guard"


def _load_by_path(name: str, relative: str) -> ModuleType:
    """A module under tests/ loaded by its path: tests/ has no packages to import from."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def pytest_configure(config: pytest.Config) -> None:
    # Every test of the suite (each xdist worker too) fails in teardown if a log line it
    # caused holds a phone number, RRN, card number or customer name: tests/pii_log_guard.py.
    if not config.pluginmanager.has_plugin(_GUARD_NAME):
        config.pluginmanager.register(_load_by_path(_GUARD_NAME, "pii_log_guard.py"), _GUARD_NAME)


# The longest modules (minutes each: crash recovery kills dispatchers five times over
# 100,000 messages) start first, so the two xdist workers do not end with one of them
# running alone while the other is idle.
_LONG_FIRST = (
    "test_crash_recovery.py",
    "test_render_at_scale.py",
    "test_bench.py",
    "test_fault_injection.py",
    "test_night_hold.py",
    "test_urgent_under_bulk.py",
    "test_alerts_done_when.py",
    "test_board_browser.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in _LONG_FIRST)  # stable: else as found


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def pg_url() -> str:
    problem = _pg_available()
    if problem:
        # CI has PostgreSQL: a store test that silently skips there would hide a failure.
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} is required in CI: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {problem}")
    return PG_URL


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store migrated once per test process; each test gets a copy of the file (about
    2 ms instead of 100 ms of Alembic, over some 850 SQLite store tests)."""
    path = tmp_path_factory.mktemp("template") / "ums.db"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    store.dispose()
    with sqlite3.connect(path) as conn:  # everything in the main file: no -wal to copy
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_url: str) -> Iterator[str]:
    """A database migrated once per test process, the template of each test's database:
    CREATE DATABASE ... TEMPLATE takes about 30 ms where migrating a new schema took
    about 400 ms, over some 830 PostgreSQL store tests. Nobody connects to it after the
    migration (a template must have no sessions while it is copied)."""
    name = f"ums_tmpl_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    store = Store(_pg_database_url(pg_url, name))
    store.migrate()
    store.dispose()
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _pg_database_url(base: str, database: str) -> str:
    return sa.engine.make_url(base).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL on each backend (a new database on PostgreSQL),
    copied from a template migrated once per test process."""
    if request.param == "sqlite":
        path = tmp_path / "ums.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    base = request.getfixturevalue("pg_url")
    template = request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _pg_database_url(base, name)
    finally:
        # FORCE: a test that left a connection open (a killed child's) must not leak it.
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.dispose()


# RBAC (compliance/access.py): store-backed commands act as UMS_ACTOR and assets as the
# service account; a test that is not about roles gets them from these fixtures.
TEST_ACTOR = "test-cli"
STAFF_ROLES = ("author", "reviewer", "approver", "operator", "auditor")  # not admin


@pytest.fixture
def grant(store_url: str) -> Callable[..., None]:
    """grant("kim", "author", "reviewer", department="card"): roles granted by "test-admin"."""
    from ums_pipelines.compliance.roles import grant_role

    def _grant(user: str, *roles: str, department: str = "*") -> None:
        store = Store(store_url)
        try:
            with store.session() as session:
                for role in roles:
                    grant_role(session, user, role, department, granted_by="test-admin")
        finally:
            store.dispose()

    return _grant


@pytest.fixture
def cli_actor(grant: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> str:
    """UMS_ACTOR set to an actor holding every role but admin for '*', so a command
    without --actor is allowed; four-eyes rules still refuse it deciding its own work."""
    grant(TEST_ACTOR, *STAFF_ROLES)
    monkeypatch.setenv("UMS_ACTOR", TEST_ACTOR)
    return TEST_ACTOR


@pytest.fixture
def scheduler_role(grant: Callable[..., None]) -> str:
    """The Dagster service account with the operator role for '*', as deployed."""
    from ums_pipelines.compliance.access import SERVICE_ACCOUNT

    grant(SERVICE_ACCOUNT, "operator")
    return SERVICE_ACCOUNT


@pytest.fixture
def settings(tmp_path: Path, store_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=store_url)


_SEED_NAME = "ums_test_seed_analytics"


@pytest.fixture(scope="session")
def seed() -> ModuleType:
    """The shared analytics seed (tests/sql/seed_analytics.py), loaded by path once:
    tests/ has no packages to import it from."""
    if _SEED_NAME in sys.modules:
        return sys.modules[_SEED_NAME]
    path = Path(__file__).resolve().parent / "sql" / "seed_analytics.py"
    spec = importlib.util.spec_from_file_location(_SEED_NAME, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_SEED_NAME] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def chromium() -> str:
    """Headless Chromium for the browser tests: skipped where it is missing, except in CI
    (``.ci/run`` installs it), where a missing browser fails the test."""
    found = next(
        (c for c in ("/usr/bin/chromium", shutil.which("chromium")) if c and os.path.exists(c)),
        None,
    )
    if found is None:
        reason = "headless Chromium not installed (/usr/bin/chromium or chromium on PATH)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: it is required in CI")
        pytest.skip(reason)
    return found


def night_rules_elsewhere(start_h: int = 3, end_h: int = 4) -> dict[str, str]:
    """Settings (``UMS_*``) that put both advertising night windows hours away from now.

    For tests that send advertising and expect it sent: the real night rules (FriendTalk
    and brand from 20:00, all advertising from 21:00 KST) would hold it whenever the suite
    runs in the Korean evening. Moving the windows, not the clock, keeps every process on
    the real time: a clock moved back makes the shared simulator's earlier receipts due
    hours "later" and they hold back the test's own (its plain feed pages by ledger seq).
    """
    hour = datetime.now(ZoneInfo("Asia/Seoul")).hour
    # Other offsets (start_h < 0 < end_h) put the windows over now instead.
    start, end = f"{(hour + start_h) % 24:02d}:00", f"{(hour + end_h) % 24:02d}:00"
    return {
        "UMS_AD_NIGHT_START": start,
        "UMS_AD_NIGHT_END": end,
        "UMS_FRIENDTALK_NIGHT_START": start,
        "UMS_FRIENDTALK_NIGHT_END": end,
    }


@pytest.fixture(scope="session")
def night_rules_env() -> Callable[..., dict[str, str]]:
    """:func:`night_rules_elsewhere`, for fixtures wider than a test (a module's demo run)."""
    return night_rules_elsewhere


@pytest.fixture
def ads_allowed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The night rules moved hours away from now (:func:`night_rules_elsewhere`) for the
    settings built after this fixture; list it first (``usefixtures``) for that."""
    for name, value in night_rules_elsewhere().items():
        monkeypatch.setenv(name, value)
