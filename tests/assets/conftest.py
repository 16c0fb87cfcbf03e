"""Fixtures for the Dagster assets: a UmsResource on a tmp UMS_HOME and each store backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from ums_pipelines.resources import UmsResource
from ums_pipelines.settings import Settings


@pytest.fixture
def ums(settings: Settings, store_url: str) -> UmsResource:
    """The resource the assets get in production, pointed at this test's home and store."""
    return UmsResource(home=str(settings.home), database_url=store_url)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def drop_file(settings: Settings):  # type: ignore[no-untyped-def]
    """Deliver a change file the way source systems must: a dot-temp name, then a rename."""

    def _drop(name: str, data: bytes) -> Path:
        settings.customer_inbox.mkdir(parents=True, exist_ok=True)
        temp = settings.customer_inbox / f".{name}.tmp"
        temp.write_bytes(data)
        return temp.replace(settings.customer_inbox / name)

    return _drop
