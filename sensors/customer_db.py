"""The source database sensor: launches customer_db_sync when rows wait past the cursor."""

import hashlib

import dagster as dg

from ums_pipelines.compliance.access import allowed
from ums_pipelines.customers.dbsync import SourceError, source_waiting
from ums_pipelines.resources import UmsResource

__all__ = ["customer_db_job", "customer_db_sensor"]

customer_db_job = dg.define_asset_job(
    "customer_db_job",
    selection=dg.AssetSelection.assets("customer_db_sync"),
    description="Apply the customer changes waiting in the source database table.",
)


@dg.sensor(
    job=customer_db_job,
    minimum_interval_seconds=60,
    description="Every minute: launches customer_db_sync when the source database table has"
    " rows past the stored (cursor, key) position (one SELECT max(cursor)).",
)
def customer_db_sensor(ums: UmsResource) -> dg.SensorResult | dg.SkipReason:
    with ums.open_store() as store:
        with store.reading() as session:
            if not allowed(session, ums.actor, "customers.sync", None):
                return dg.SkipReason(f"{ums.actor} lacks the operator role for '*'")
        try:
            waiting = source_waiting(store, ums.settings())
        except SourceError as exc:
            return dg.SkipReason(str(exc))  # names the setting; the URL is masked
    if waiting is None:
        return dg.SkipReason("no source configured or no row past the cursor")
    # A new key once the position moves or newer rows arrive; the same while a run is due.
    seen = hashlib.sha256(f"{waiting.after}|{waiting.cursor}".encode()).hexdigest()[:16]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"customers-db:{seen}", tags={"up_to": waiting.cursor})]
    )
