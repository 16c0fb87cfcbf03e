"""The operational store: tables, engine and migrations."""

from ums_pipelines.store.engine import Store, as_utc, is_sqlite, utcnow

__all__ = ["Store", "as_utc", "is_sqlite", "utcnow"]
