"""Alembic environment: runs on the engine handed over by ``ums_pipelines.store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

from ums_pipelines.store import compliance as _compliance  # noqa: F401 - registers its tables
from ums_pipelines.store import contact as _contact  # noqa: F401 - registers its tables
from ums_pipelines.store import content as _content  # noqa: F401 - registers its tables
from ums_pipelines.store import retention as _retention  # noqa: F401 - registers its tables
from ums_pipelines.store import sendplane as _sendplane  # noqa: F401 - registers its tables
from ums_pipelines.store.models import Base

config = context.config
target_metadata = Base.metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if isinstance(engine, Engine):
        return engine
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from ums_pipelines.settings import get_settings

        url = get_settings().store_url
    return create_engine(url)


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=engine.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
