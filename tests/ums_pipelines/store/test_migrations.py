from __future__ import annotations

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from ums_pipelines.store import Store
from ums_pipelines.store.migrate import alembic_config
from ums_pipelines.store.models import Base


def test_migrations_create_every_table(store: Store) -> None:
    tables = set(sa.inspect(store.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrate_is_idempotent(store: Store) -> None:
    store.migrate()
    with store.engine.connect() as conn:
        versions = set(conn.execute(sa.text("select version_num from alembic_version")).scalars())
    assert versions == set(ScriptDirectory.from_config(alembic_config()).get_heads())


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = Store(f"sqlite:///{tmp_path / 'x.db'}")
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    s.dispose()


def test_migrations_match_the_models(store: Store) -> None:
    """A column added to a model without a migration (or the reverse) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from ums_pipelines.store import (  # noqa: F401 - register their tables
        alerts,
        calendar,
        compliance,
        contact,
        content,
        monitoring,
        sendplane,
        urgent,
    )

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
