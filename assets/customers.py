"""Customer sync from the change files that source systems drop in the inbox."""

import time

import dagster as dg
from sqlalchemy import func, or_, select

from ums_pipelines.customers import sync_inbox
from ums_pipelines.resources import UmsResource
from ums_pipelines.store.models import Customer

__all__ = ["ASSETS", "CHECKS"]

# Issues listed in one materialization's metadata; the quarantine table holds them all.
MAX_ISSUES = 200


@dg.asset(
    group_name="customers",
    owners=["team:customer-data"],
    kinds={"python", "csv", "sqlalchemy"},
    description=(
        "Applies customer change files (contacts, consents, deceased flag) from "
        "UMS_HOME/inbox/customers; bad rows are quarantined with their reason, good rows applied."
    ),
)
def customer_profiles(
    context: dg.AssetExecutionContext, ums: UmsResource
) -> dg.MaterializeResult[None]:
    started = time.monotonic()
    with ums.open_store() as store:
        ums.authorize(store, "customers.sync")
        report = sync_inbox(store, ums.settings())
        with store.session() as session:
            total = session.scalar(select(func.count()).select_from(Customer)) or 0
    files = report.files
    for f in files:
        if f.reason:
            context.log.warning(f"{f.file_name} rejected: {f.reason}")
        for issue in f.issues[:20]:
            context.log.warning(f"{f.file_name} line {issue.line}: {issue.reason}")
    # Row by row for the UI (reasons are masked; the raw lines stay in the store's quarantine).
    issues = [
        {"file": f.file_name, "line": i.line, "field": i.field, "reason": i.reason}
        for f in files
        for i in f.issues
    ]
    return dg.MaterializeResult(
        metadata={
            "files": len(files),
            "rows_applied": sum(f.rows_applied for f in files),
            "rows_stale": sum(f.rows_stale for f in files),
            "rows_quarantined": sum(f.rows_quarantined for f in files),
            "file_status": {f.file_name: f.status for f in files},
            "rejected_files": {f.file_name: f.reason or "" for f in files if f.reason},
            "file_warnings": {f.file_name: f.warnings for f in files if f.warnings},
            "row_issues": dg.MetadataValue.json(issues[:MAX_ISSUES]),
            "row_issues_total": len(issues),
            "customers_total": int(total),
            "seconds": round(time.monotonic() - started, 3),
        }
    )


@dg.asset_check(
    asset=customer_profiles,
    description="Every living customer has at least one contact point (phone, e-mail or push).",
)
def customers_reachable(ums: UmsResource) -> dg.AssetCheckResult:
    with ums.open_store() as store, store.session() as session:
        unreachable = session.scalar(
            select(func.count())
            .select_from(Customer)
            .where(
                Customer.deceased.is_(False),
                Customer.phone.is_(None),
                Customer.email.is_(None),
                or_(Customer.push_token.is_(None), Customer.push_token == ""),
            )
        )
    return dg.AssetCheckResult(
        passed=not unreachable,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"unreachable_customers": int(unreachable or 0)},
    )


ASSETS = [customer_profiles]
CHECKS = [customers_reachable]
