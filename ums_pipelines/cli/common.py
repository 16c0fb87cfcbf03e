"""What the store-backed commands share: the configured, migrated store for one command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ums_pipelines.settings import Settings, get_settings
from ums_pipelines.store import Store

__all__ = ["open_store"]


@contextmanager
def open_store() -> Iterator[tuple[Store, Settings]]:
    """The store of the settings read now (never at import), migrated, closed after."""
    settings = get_settings()
    store = Store(settings.store_url)
    try:
        store.migrate()
        yield store, settings
    finally:
        store.dispose()
