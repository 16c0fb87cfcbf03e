"""Schema changes go through Alembic, never ``create_all`` against a live database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

__all__ = ["alembic_config", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    # "heads": features developed side by side add revisions on branches of the same
    # parent; a merge revision joins them, and until then every branch is applied.
    command.upgrade(alembic_config(engine), revision)
