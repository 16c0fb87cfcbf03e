"""Customer master data: change files from the bank's source systems into the store.

See :mod:`ums_pipelines.customers.validation` for the column contract,
:mod:`ums_pipelines.customers.formats` for CSV, JSON Lines and fixed-width files and
:mod:`ums_pipelines.customers.sync` for the life of a file in the inbox (docs/customer-sync.md).
"""

from ums_pipelines.customers.formats import read_change_file
from ums_pipelines.customers.layout import Layout, LayoutError, load_layout
from ums_pipelines.customers.report import (
    FileResult,
    FileStatus,
    Issue,
    QuarantinedRecord,
    SyncReport,
)
from ums_pipelines.customers.sync import pending_files, quarantined_rows, sync_inbox
from ums_pipelines.customers.validation import (
    CHANNELS,
    CONSENT_COLUMNS,
    CONSENT_PURPOSES,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ChangeRow,
)

__all__ = [
    "CHANNELS",
    "CONSENT_COLUMNS",
    "CONSENT_PURPOSES",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "ChangeRow",
    "FileResult",
    "FileStatus",
    "Issue",
    "Layout",
    "LayoutError",
    "QuarantinedRecord",
    "SyncReport",
    "load_layout",
    "pending_files",
    "quarantined_rows",
    "read_change_file",
    "sync_inbox",
]
