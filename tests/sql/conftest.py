"""Fixtures: the shared analytics seed (tests/sql/seed_analytics.py), loaded by path."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import duckdb
import pytest

from ums_pipelines.analytics import export_to_parquet, read_only_connection, run_all
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store


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
