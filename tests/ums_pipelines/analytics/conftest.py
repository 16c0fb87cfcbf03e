"""Fixtures: the shared analytics seed (tests/sql/seed_analytics.py), loaded by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_SEED_NAME = "ums_test_seed_analytics"


def _load_seed() -> ModuleType:
    # tests/ has no packages, so the shared seed module is loaded from its file once.
    if _SEED_NAME in sys.modules:
        return sys.modules[_SEED_NAME]
    path = Path(__file__).resolve().parents[2] / "sql" / "seed_analytics.py"
    spec = importlib.util.spec_from_file_location(_SEED_NAME, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_SEED_NAME] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def seed() -> ModuleType:
    return _load_seed()
