"""Where a bulk job's candidates come from (issue 7): a segment query over the customer
profile, or an uploaded target file. Either gives customer ids that
``targets.extract_targets(candidates=...)`` suppresses and freezes (docs/targets.md)."""

from __future__ import annotations

from ums_pipelines.segments.guard import CheckedSql, SegmentError, check_segment_sql
from ums_pipelines.segments.profile import (
    PROFILE_COLUMNS,
    PROFILE_TABLES,
    load_profile,
    profile_connection,
)
from ums_pipelines.segments.query import Params, SegmentResult, run_segment, sql_sha256
from ums_pipelines.segments.upload import RowProblem, TargetFile, UploadError, read_target_file

__all__ = [
    "PROFILE_COLUMNS",
    "PROFILE_TABLES",
    "CheckedSql",
    "Params",
    "RowProblem",
    "SegmentError",
    "SegmentResult",
    "TargetFile",
    "UploadError",
    "check_segment_sql",
    "load_profile",
    "profile_connection",
    "read_target_file",
    "run_segment",
    "sql_sha256",
]
