"""The operational store: tables, engine and migrations."""

from ums_pipelines.store.engine import Store, is_sqlite, utcnow

__all__ = ["Store", "is_sqlite", "utcnow"]
