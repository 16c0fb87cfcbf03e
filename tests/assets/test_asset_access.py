"""RBAC on assets: they act as UmsResource.actor, the service account granted operator at
deployment; without the role a run fails, changes nothing, and the refusal is audited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg
from sqlalchemy import func, select

from assets.customers import customer_profiles
from ums_pipelines.customers import pending_files
from ums_pipelines.resources import UmsResource
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import AuditLog, Customer

Drop = Callable[[str, bytes], Path]
FILE = b"customer_id,changed_at,preferred_channel,consent_sms_info\nC1,2024-05-01T09:00:00,sms,Y\n"


def test_an_asset_without_the_role_fails_and_changes_nothing(
    ums: UmsResource, store: Store, settings: Settings, drop_file: Drop
) -> None:
    drop_file("customers_1.csv", FILE)
    intruder = UmsResource(home=ums.home, database_url=ums.database_url, actor="intruder")
    result = dg.materialize([customer_profiles], resources={"ums": intruder}, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "intruder may not customers.sync: it needs operator" in str(failure.event_specific_data)
    assert len(pending_files(settings)) == 1  # the file waits for an allowed run
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0
        denied = session.scalars(select(AuditLog).where(AuditLog.action == "access.denied")).one()
    assert (denied.actor, denied.entity_id) == ("intruder", "customers.sync")

    # The deployed service account (ums fixture: operator for '*') applies it.
    assert dg.materialize([customer_profiles], resources={"ums": ums}).success
    assert pending_files(settings) == []
