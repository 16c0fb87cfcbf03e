"""Analytics: the Parquet export of the outbox and the DuckDB SQL models over it.

Pure Python; the Dagster assets that schedule these functions live in ``assets/`` and
``reports/``.
"""

from ums_pipelines.analytics.export import ExportResult, TableExport, export_to_parquet
from ums_pipelines.analytics.models import (
    Model,
    ModelError,
    ModelResult,
    list_models,
    read_only_connection,
    run_all,
    run_model,
    sql_dir,
)

__all__ = [
    "ExportResult",
    "Model",
    "ModelError",
    "ModelResult",
    "TableExport",
    "export_to_parquet",
    "list_models",
    "read_only_connection",
    "run_all",
    "run_model",
    "sql_dir",
]
