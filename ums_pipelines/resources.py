"""Dagster resources: the only engine module besides ``definitions`` that imports Dagster."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg

from ums_pipelines.compliance.access import SERVICE_ACCOUNT, Scope, guard
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store

__all__ = ["UmsResource"]

_migrated: set[str] = set()


class UmsResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Settings and store access for assets and sensors.

    Unset fields come from the UMS_* environment when a run asks, never at import.
    """

    home: str | None = None
    database_url: str | None = None
    gateway_url: str | None = None
    smtp_port: int | None = None
    apns_url: str | None = None
    intl_enabled: bool | None = None
    intl_countries: str | None = None
    auto_migrate: bool = True
    # The service account assets, sensors and schedules act as; deployment grants it the
    # operator role (docs/compliance.md, "Roles and access").
    actor: str = SERVICE_ACCOUNT

    def settings(self) -> Settings:
        overrides: dict[str, Any] = {
            k: v
            for k, v in {
                "home": self.home,
                "database_url": self.database_url,
                "gateway_url": self.gateway_url,
                "smtp_port": self.smtp_port,
                "apns_url": self.apns_url,
                "intl_enabled": self.intl_enabled,
                "intl_countries": self.intl_countries,
            }.items()
            if v is not None
        }
        return Settings(**overrides)

    def authorize(self, store: Store, action: str, department: str | Scope | None = None) -> None:
        """Check the service account may do ``action`` (AccessDenied fails the run; the
        refusal is in the audit log)."""
        guard(store, self.actor, action, department)

    @contextmanager
    def open_store(self) -> Iterator[Store]:
        settings = self.settings()
        store = Store(settings.store_url)
        try:
            # The embedded default upgrades itself once per process; production runs
            # `ums db upgrade` as a deploy step and sets auto_migrate=False.
            if self.auto_migrate and settings.store_url not in _migrated:
                store.migrate()
                _migrated.add(settings.store_url)
            yield store
        finally:
            store.dispose()
