"""Fixtures for the Dagster assets: a UmsResource on a tmp UMS_HOME and each store backend."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import dagster as dg
import pytest

from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig
from ums_pipelines.resources import UmsResource
from ums_pipelines.settings import Settings

_SCENARIO = "ums_test_asset_scenario"
_SEED = "ums_test_seed_analytics"  # the name tests/sql and tests/reports load it under


@pytest.fixture
def ums(settings: Settings, store_url: str, scheduler_role: str) -> UmsResource:
    """The resource the assets get in production, pointed at this test's home and store,
    its service account holding operator for '*' as deployed (RBAC)."""
    return UmsResource(home=str(settings.home), database_url=store_url)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def drop_file(settings: Settings) -> Callable[[str, bytes], Path]:
    """Deliver a change file the way source systems must: a dot-temp name, then a rename."""

    def _drop(name: str, data: bytes) -> Path:
        settings.customer_inbox.mkdir(parents=True, exist_ok=True)
        temp = settings.customer_inbox / f".{name}.tmp"
        temp.write_bytes(data)
        return temp.replace(settings.customer_inbox / name)

    return _drop


def _load(name: str, path: Path) -> ModuleType:
    # tests/ has no packages: shared helpers are loaded from their file, once per process.
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def scenario() -> ModuleType:
    """tests/assets/ums_scenario.py: small jobs built through the engine."""
    return _load(_SCENARIO, Path(__file__).with_name("ums_scenario.py"))


@pytest.fixture(scope="session")
def seed() -> ModuleType:
    """tests/sql/seed_analytics.py: the analytics scenario with known numbers."""
    return _load(_SEED, Path(__file__).resolve().parents[1] / "sql" / "seed_analytics.py")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[GatewaySimulator]:
    """The in-process gateway simulator: no latency, receipts visible at once."""
    config = SimConfig(latency_ms=(0, 0), receipt_delay_ms=0)
    with GatewaySimulator(config, ledger_path=tmp_path / "ledger.db") as running:
        yield running


@pytest.fixture
def ums_sim(ums: UmsResource, sim: GatewaySimulator) -> UmsResource:
    """The resource pointed at the simulator's HTTP and SMTP sides."""
    return UmsResource(
        home=ums.home,
        database_url=ums.database_url,
        gateway_url=sim.base_url,
        smtp_port=sim.smtp_port,
    )
