"""Fixtures for sensors and schedules: a UmsResource on a tmp home and an ephemeral instance."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from ums_pipelines.resources import UmsResource
from ums_pipelines.settings import Settings


@pytest.fixture
def ums(settings: Settings, store_url: str, scheduler_role: str) -> UmsResource:
    # scheduler_role: the service account holds operator for '*', as deployed (RBAC).
    return UmsResource(home=str(settings.home), database_url=store_url)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst
