"""Thin Dagster assets over the UMS engine; ``defs`` is merged by ums_pipelines.definitions."""

import dagster as dg

from assets import (
    analytics,
    consent,
    contact,
    customer_db,
    customers,
    dispatch,
    operations,
    retention,
)

__all__ = ["defs"]

defs = dg.Definitions(
    assets=[
        *customers.ASSETS,
        *customer_db.ASSETS,
        *dispatch.ASSETS,
        *contact.ASSETS,
        *analytics.ASSETS,
        *consent.ASSETS,
        *retention.ASSETS,
        *operations.ASSETS,
    ],
    asset_checks=[
        *customers.CHECKS,
        *dispatch.CHECKS,
        *contact.CHECKS,
        *analytics.CHECKS,
        *consent.CHECKS,
    ],
)
