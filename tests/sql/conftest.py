"""Fixtures: the shared analytics seed (tests/sql/seed_analytics.py), loaded by path."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import duckdb
import pytest

from ums_pipelines.analytics import export_to_parquet, read_only_connection, run_all
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store

_SEED_NAME = "ums_test_seed_analytics"


def _load_seed() -> ModuleType:
    # tests/ has no packages, so the shared seed module is loaded from its file once.
    if _SEED_NAME in sys.modules:
        return sys.modules[_SEED_NAME]
    path = Path(__file__).resolve().parents[1] / "sql" / "seed_analytics.py"
    spec = importlib.util.spec_from_file_location(_SEED_NAME, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_SEED_NAME] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def seed() -> ModuleType:
    return _load_seed()


@pytest.fixture
def built(seed: ModuleType, store: Store, settings: Settings) -> dict[str, int]:
    """The seed scenario in the store, exported, and every model built; ids by label."""
    ids: dict[str, int] = seed.seed_scenario(store)
    export_to_parquet(store, settings)
    run_all(settings)
    return ids


@pytest.fixture
def db(built: dict[str, int], settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    with read_only_connection(settings) as conn:
        yield conn
