"""What the store-backed commands share: the configured, migrated store for one command,
the acting user (``--actor`` or ``UMS_ACTOR``) and the role check before acting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from ums_pipelines.settings import Settings, get_settings
from ums_pipelines.store import Store

__all__ = ["ACTOR", "acting", "authorized", "open_store"]

# Every store-backed command names who acts: the role check and the audit log use it.
ACTOR = typer.Option(
    "--actor", envvar="UMS_ACTOR", help="Who acts (role-checked and recorded in the audit log)."
)


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


def authorized(
    store: Store,
    actor: str,
    action: str,
    department: str | Callable[[Session], str | None] | None = None,
) -> None:
    """Check ``actor`` may do ``action`` (compliance/access.py); a refusal is audited,
    printed with its reason and exits 1."""
    from ums_pipelines.compliance.access import AccessDenied, guard

    try:
        guard(store, actor, action, department)
    except AccessDenied as exc:
        # A new console: the width (COLUMNS) is read when the refusal is printed.
        Console(soft_wrap=True, stderr=False).print(f"[red]refused[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    except ValueError as exc:
        Console(soft_wrap=True).print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc


@contextmanager
def acting(
    store: Store,
    actor: str,
    action: str,
    department: str | Callable[[Session], str | None] | None = None,
) -> Iterator[None]:
    """``authorized`` as a step of a ``with`` line: ``with open_store() as (store, _),
    acting(store, actor, "words.list"), store.reading() as session:``."""
    authorized(store, actor, action, department)
    yield
