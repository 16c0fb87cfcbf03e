"""A source database table of customer changes: its configuration, cursor and pages.

The table is named by ``UMS_CUSTOMER_SOURCE_TABLE`` and reflected with SQLAlchemy: the
name is validated as an identifier and every column it reads must exist, so nothing from
the environment is ever formatted into SQL. Rows are read in ``(cursor, key)`` order
strictly after the stored position (``Watermark`` ``customers.source:<table>``): two rows
with the same cursor value on either side of a page boundary are both read, because the
key breaks the tie. :mod:`~ums_pipelines.customers.dbsync` applies the pages.

The URL holds a password: only :func:`masked_url` of it may appear in a message.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, MetaData, Table, and_, create_engine, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchTableError, SQLAlchemyError

from ums_pipelines.customers.validation import CONSENT_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from ums_pipelines.settings import Settings

__all__ = [
    "Position",
    "SourceConfig",
    "SourceError",
    "SourceTable",
    "masked_url",
    "open_source",
    "source_config",
    "to_cells",
    "watermark_name",
]

CONTRACT = REQUIRED_COLUMNS + OPTIONAL_COLUMNS + CONSENT_COLUMNS
KEY = "customer_id"
_IDENT = r"[A-Za-z_][A-Za-z0-9_]{0,62}"
_TABLE = re.compile(rf"^{_IDENT}(?:\.{_IDENT})?$")
_COLUMN = re.compile(rf"^{_IDENT}$")


class SourceError(ValueError):
    """The source is misconfigured or unreachable; the message names the setting, never
    the password."""


def masked_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a SQLAlchemy URL>"


@dataclass(frozen=True)
class SourceConfig:
    url: str  # secret: holds the password
    table: str  # "table" or "schema.table", validated
    cursor: str  # source column
    columns: Mapping[str, str]  # contract column -> source column (explicit mapping only)

    def source_column(self, contract: str) -> str:
        return self.columns.get(contract, contract)

    def __repr__(self) -> str:  # the URL's password must not reach a log through repr
        return f"SourceConfig(url={masked_url(self.url)!r}, table={self.table!r})"


def source_config(settings: Settings) -> SourceConfig | None:
    """The configured source, None when none is set; SourceError names a bad setting."""
    secret = settings.customer_source_url
    table = settings.customer_source_table
    if secret is None and table is None:
        return None
    if secret is None or not secret.get_secret_value().strip():
        raise SourceError("UMS_CUSTOMER_SOURCE_URL: required when UMS_CUSTOMER_SOURCE_TABLE is set")
    url = secret.get_secret_value().strip()
    try:
        make_url(url)
    except ArgumentError:
        raise SourceError("UMS_CUSTOMER_SOURCE_URL: not a SQLAlchemy URL") from None
    if table is None or not _TABLE.match(table.strip()):
        raise SourceError(
            "UMS_CUSTOMER_SOURCE_TABLE: required, a table name or schema.table of letters,"
            " digits and '_' (at most 63 each)"
        )
    cursor = settings.customer_source_cursor_column.strip()
    if not _COLUMN.match(cursor):
        raise SourceError("UMS_CUSTOMER_SOURCE_CURSOR_COLUMN: not a column name")
    for contract, column in settings.customer_source_columns.items():
        if contract not in CONTRACT:
            raise SourceError(f"UMS_CUSTOMER_SOURCE_COLUMNS: {contract!r} is no change column")
        if not _COLUMN.match(column):
            raise SourceError(f"UMS_CUSTOMER_SOURCE_COLUMNS: {contract}: not a column name")
    return SourceConfig(url, table.strip(), cursor, dict(settings.customer_source_columns))


def watermark_name(table: str) -> str:
    name = f"customers.source:{table}"
    if len(name) <= 64:
        return name
    # Watermark names are at most 64 characters; a long schema.table keeps a unique tail.
    return f"{name[:45]}~{hashlib.sha256(table.encode()).hexdigest()[:16]}"


def _encode(value: Any) -> dict[str, str]:
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"type": "int", "value": str(value)}
    if isinstance(value, Decimal | float):
        return {"type": "decimal", "value": str(value)}
    return {"type": "str", "value": str(value)}


def _decode(data: Mapping[str, str]) -> Any:
    kind, text = data["type"], data["value"]
    if kind == "datetime":
        return datetime.fromisoformat(text)
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "int":
        return int(text)
    if kind == "decimal":
        return Decimal(text)
    return text


@dataclass(frozen=True)
class Position:
    """Where the reader stands: the (cursor, key) of the last row applied."""

    cursor: Any
    key: Any

    def dumps(self) -> str:
        return json.dumps({"cursor": _encode(self.cursor), "key": _encode(self.key)})

    @classmethod
    def loads(cls, text: str) -> Position:
        data = json.loads(text)
        return cls(_decode(data["cursor"]), _decode(data["key"]))

    def describe(self) -> str:
        # Cursor only: the key is a customer id, fine in logs, but the cursor says enough.
        value = self.cursor.isoformat() if isinstance(self.cursor, date) else self.cursor
        return str(value)


class SourceTable:
    """The reflected table and the columns read from it."""

    def __init__(self, config: SourceConfig, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        schema, _, name = config.table.rpartition(".")
        try:
            self.table = Table(name, MetaData(schema=schema or None), autoload_with=engine)
        except NoSuchTableError:
            raise SourceError(f"UMS_CUSTOMER_SOURCE_TABLE: no table {config.table}") from None
        present = set(self.table.c.keys())
        for setting, column in (
            ("UMS_CUSTOMER_SOURCE_CURSOR_COLUMN", config.cursor),
            *(("UMS_CUSTOMER_SOURCE_COLUMNS", c) for c in config.columns.values()),
            *(
                (f"UMS_CUSTOMER_SOURCE_COLUMNS ({c})", config.source_column(c))
                for c in REQUIRED_COLUMNS
            ),
        ):
            if column not in present:
                raise SourceError(f"{setting}: {config.table} has no column {column!r}")
        # Contract column -> source column, for every contract column the table has.
        self.mapping = {c: config.source_column(c) for c in CONTRACT}
        self.mapping = {c: s for c, s in self.mapping.items() if s in present}
        self.cursor = self.table.c[config.cursor]
        self.key = self.table.c[self.mapping[KEY]]

    def _after(self, position: Position | None) -> ColumnElement[bool]:
        live = and_(self.cursor.is_not(None), self.key.is_not(None))
        if position is None:
            return live
        return and_(
            live,
            or_(
                self.cursor > position.cursor,
                and_(self.cursor == position.cursor, self.key > position.key),
            ),
        )

    def page_query(self, position: Position | None, size: int) -> Any:
        names = dict.fromkeys([*self.mapping.values(), self.cursor.name])
        return (
            sa_select(*(self.table.c[n] for n in names))
            .where(self._after(position))
            .order_by(self.cursor, self.key)
            .limit(size)
        )

    def waiting_query(self, position: Position | None) -> Any:
        """The greatest cursor past ``position``; NULL when nothing is waiting."""
        return sa_select(func.max(self.cursor)).where(self._after(position))

    def position_of(self, row: Mapping[str, Any]) -> Position:
        return Position(row[self.cursor.name], row[self.key.name])


def to_cells(row: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, str]:
    """A source row as the cells of a change file: NULL is "" (no change), a flag Y/N."""
    cells: dict[str, str] = {}
    for contract, column in mapping.items():
        value = row[column]
        if value is None:
            text = ""
        elif isinstance(value, bool):
            text = "Y" if value else "N"
        elif isinstance(value, date):
            # A naive datetime is Korea time, as in a change file.
            text = value.isoformat()
        else:
            text = str(value)
        cells[contract] = text
    return cells


@contextmanager
def open_source(config: SourceConfig) -> Iterator[SourceTable]:
    """Connect and reflect; SourceError (masked URL) when the database cannot be reached."""
    try:
        engine = create_engine(config.url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise SourceError(
            f"UMS_CUSTOMER_SOURCE_URL: cannot use {masked_url(config.url)}: {type(exc).__name__}"
        ) from None
    try:
        try:
            source = SourceTable(config, engine)
        except SourceError:
            raise
        except SQLAlchemyError as exc:
            raise SourceError(
                f"UMS_CUSTOMER_SOURCE_URL: cannot read {masked_url(config.url)}:"
                f" {type(exc).__name__}"
            ) from None
        yield source
    finally:
        engine.dispose()
