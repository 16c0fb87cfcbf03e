"""Customer master data: change files from the bank's source systems into the store.

See :mod:`ums_pipelines.customers.validation` for the CSV column contract and
:mod:`ums_pipelines.customers.sync` for the life of a file in the inbox.
"""

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
    "QuarantinedRecord",
    "SyncReport",
    "pending_files",
    "quarantined_rows",
    "sync_inbox",
]
