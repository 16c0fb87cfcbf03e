"""Cost settlement: monthly totals from the outbox and provider invoice reconciliation
(docs/costs.md)."""

from __future__ import annotations

from ums_pipelines.settlement.invoice import (
    DetailLine,
    InvoiceError,
    InvoiceLine,
    read_detail,
    read_invoice,
)
from ums_pipelines.settlement.reconcile import Difference, Reconciliation, reconcile
from ums_pipelines.settlement.totals import (
    DIMENSIONS,
    CostLine,
    SettlementError,
    month_bounds,
    roll_up,
    settle,
)

__all__ = [
    "DIMENSIONS",
    "CostLine",
    "DetailLine",
    "Difference",
    "InvoiceError",
    "InvoiceLine",
    "Reconciliation",
    "SettlementError",
    "month_bounds",
    "read_detail",
    "read_invoice",
    "reconcile",
    "roll_up",
    "settle",
]
