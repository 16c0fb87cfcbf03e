"""customer_db_sync and customer_db_sensor: a source database table through Dagster."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from assets.customer_db import customer_db_sync
from sensors.customer_db import customer_db_sensor
from ums_pipelines.definitions import defs
from ums_pipelines.resources import UmsResource
from ums_pipelines.store import Store
from ums_pipelines.store.models import Customer

T0 = datetime(2024, 5, 1, 9, 0)


@pytest.fixture
def changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sa.Table:
    """A SQLite source table of changes, configured through the environment as deployed."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    meta = sa.MetaData()
    table = sa.Table(
        "cust_changes",
        meta,
        sa.Column("cust_no", sa.String(32), primary_key=True),
        sa.Column("changed_at", sa.DateTime),
        sa.Column("phone", sa.String(20)),
    )
    engine = sa.create_engine(url)
    meta.create_all(engine)
    engine.dispose()
    table.info["url"] = url
    monkeypatch.setenv("UMS_CUSTOMER_SOURCE_URL", url)
    monkeypatch.setenv("UMS_CUSTOMER_SOURCE_TABLE", "cust_changes")
    monkeypatch.setenv("UMS_CUSTOMER_SOURCE_COLUMNS", '{"customer_id": "cust_no"}')
    return table


def add(table: sa.Table, *rows: dict[str, Any]) -> None:
    engine = sa.create_engine(table.info["url"])
    with engine.begin() as conn:
        conn.execute(sa.insert(table), list(rows))
    engine.dispose()


def tick(ums: UmsResource) -> dg.SensorResult | dg.SkipReason:
    with dg.build_sensor_context(resources={"ums": ums}, definitions=defs) as context:
        result = customer_db_sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def materialize(ums: UmsResource) -> dict[str, Any]:
    result = dg.materialize([customer_db_sync], resources={"ums": ums})
    assert result.success
    [mat] = result.asset_materializations_for_node("customer_db_sync")
    return {k: v.value for k, v in mat.metadata.items()}


def test_the_sensor_launches_the_asset_only_while_rows_wait(
    ums: UmsResource, store: Store, changes: sa.Table
) -> None:
    assert isinstance(tick(ums), dg.SkipReason)  # an empty table
    add(
        changes,
        {"cust_no": "C1", "changed_at": T0, "phone": "010-1111-2222"},
        {"cust_no": "C2", "changed_at": T0, "phone": "12"},
    )
    first = tick(ums)
    assert isinstance(first, dg.SensorResult)
    [run] = first.run_requests or []
    assert run.job_name in (None, "customer_db_job")

    meta = materialize(ums)

    assert (meta["rows_read"], meta["rows_applied"], meta["rows_quarantined"]) == (2, 1, 1)
    assert meta["cursor"] == T0.isoformat() and meta["table"] == "cust_changes"
    assert [i["field"] for i in meta["row_issues"]] == ["phone"]
    with store.session() as session:
        assert session.scalars(select(Customer.customer_id)).all() == ["C1"]
    assert isinstance(tick(ums), dg.SkipReason)

    add(changes, {"cust_no": "C3", "changed_at": T0, "phone": "01033334444"})  # a tie
    again = tick(ums)
    assert isinstance(again, dg.SensorResult)
    [rerun] = again.run_requests or []
    assert rerun.run_key != run.run_key
    assert materialize(ums)["rows_applied"] == 1
    assert materialize(ums)["rows_read"] == 0  # idempotent


def test_a_misconfigured_source_fails_the_run_naming_the_setting(
    ums: UmsResource, changes: sa.Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UMS_CUSTOMER_SOURCE_CURSOR_COLUMN", "updated_at")
    skipped = tick(ums)
    assert isinstance(skipped, dg.SkipReason)
    assert "UMS_CUSTOMER_SOURCE_CURSOR_COLUMN" in (skipped.skip_message or "")

    result = dg.materialize([customer_db_sync], resources={"ums": ums}, raise_on_error=False)

    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "UMS_CUSTOMER_SOURCE_CURSOR_COLUMN" in str(failure.step_failure_data.error)
