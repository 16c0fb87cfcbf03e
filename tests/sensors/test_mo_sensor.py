"""The MO sensor and asset: a poll is launched only while replies wait, and it records them."""

import uuid
from collections.abc import Iterator
from typing import Any

import dagster as dg
import httpx
import pytest

from assets.contact import mo_replies
from sensors.sensors import mo_sensor
from ums_pipelines.definitions import defs
from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig
from ums_pipelines.resources import UmsResource
from ums_pipelines.store import Store, utcnow
from ums_pipelines.store.contact import MoMessage, OptOut
from ums_pipelines.store.models import Customer


def _tick(ums: UmsResource) -> Any:
    with dg.build_sensor_context(resources={"ums": ums}, definitions=defs) as context:
        return mo_sensor(context)


@pytest.fixture
def gateway() -> Iterator[GatewaySimulator]:
    """A simulator of this test's own: its MO feeds hold only what the test injects."""
    with GatewaySimulator(SimConfig(latency_ms=(0, 0))) as sim:
        yield sim


def test_mo_sensor_launches_a_poll_only_while_replies_wait(
    ums: UmsResource, gateway: GatewaySimulator, store_url: str
) -> None:
    ums = UmsResource(home=ums.home, database_url=store_url, gateway_url=gateway.base_url)
    assert isinstance(_tick(ums), dg.SkipReason)

    phone = f"010{uuid.uuid4().int % 100_000_000:08d}"
    with ums.open_store() as store, store.session() as session:
        now = utcnow()
        session.add(Customer(customer_id="C1", phone=phone, source_changed_at=now, updated_at=now))
    body = {"from": phone, "to": "15881234", "text": "STOP", "channel": "rcs"}
    assert httpx.post(f"{gateway.base_url}/admin/v1/mo", json=body).status_code == 201

    result = _tick(ums)
    assert isinstance(result, dg.SensorResult)
    [run] = result.run_requests or []
    assert run.run_key is not None and run.run_key.startswith("mo:")
    assert run.tags["feeds"] == "rcs"
    assert mo_sensor.job_name == "mo_job"

    materialized = dg.materialize([mo_replies], resources={"ums": ums})
    assert materialized.success
    [event] = materialized.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert (metadata["stored"].value, metadata["opt_out"].value) == (1, 1)
    store = Store(store_url)
    try:
        with store.session() as session:
            [opt] = session.query(OptOut).all()
            [mo] = session.query(MoMessage).all()
    finally:
        store.dispose()
    assert (opt.customer_id, opt.source, mo.route) == ("C1", "mo", "opt_out")
    assert isinstance(_tick(ums), dg.SkipReason)  # read: nothing waits any more


def test_mo_sensor_skips_when_the_feeds_are_unreachable(ums: UmsResource) -> None:
    ums = UmsResource(
        home=ums.home, database_url=ums.database_url, gateway_url="http://127.0.0.1:9"
    )
    skip = _tick(ums)
    assert isinstance(skip, dg.SkipReason)
    assert "unreachable" in (skip.skip_message or "")
