"""The exported columns: one definition shared by the Parquet writer and the DuckDB sources.

Only operational facts are exported. Recipient addresses, bodies, subjects, names and
free-text provider details stay in the store: analytics never needs them, and a copy in
Parquet would be personal data outside the store's access control and retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy.orm import InstrumentedAttribute

from ums_pipelines.store.contact import MoMessage
from ums_pipelines.store.content import LinkClick, ShortLink
from ums_pipelines.store.models import DeliveryEvent, Message

__all__ = ["SOURCES", "Column", "SourceTable"]

_UTC = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    name: str
    attr: InstrumentedAttribute[Any]
    dtype: pl.DataType
    duckdb_type: str
    # Added after files were already exported: day files written before it lack the
    # column, and readers see NULL there instead of failing.
    optional: bool = False


@dataclass(frozen=True)
class SourceTable:
    """An exported store table: where it lands and how its rows map to Korea-time days."""

    name: str  # directory under parquet_dir
    view: str  # DuckDB view the SQL models read
    columns: tuple[Column, ...]
    day_column: str  # the (immutable) time that decides a row's day partition
    change_column: str  # the time that moves forward whenever the row changes
    # The FROM clause when the columns span tables (a click with its link's job/message).
    from_clause: Any = None

    @property
    def polars_schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _col(attr: InstrumentedAttribute[Any], dtype: pl.DataType, duckdb_type: str) -> Column:
    return Column(attr.key, attr, dtype, duckdb_type)


def _ts(attr: InstrumentedAttribute[Any]) -> Column:
    return _col(attr, _UTC, "TIMESTAMPTZ")


def _text(attr: InstrumentedAttribute[Any]) -> Column:
    return _col(attr, pl.String(), "VARCHAR")


def _int(attr: InstrumentedAttribute[Any]) -> Column:
    return _col(attr, pl.Int64(), "BIGINT")


def _late_float(attr: InstrumentedAttribute[Any]) -> Column:
    return Column(attr.key, attr, pl.Float64(), "DOUBLE", optional=True)


MESSAGES = SourceTable(
    name="messages",
    view="src_messages",
    columns=(
        _int(Message.id),
        _text(Message.idempotency_key),
        _text(Message.job_id),
        _text(Message.customer_id),
        _text(Message.channel),
        _text(Message.message_type),
        _text(Message.provider),
        _int(Message.leg),
        _int(Message.parent_id),
        _int(Message.next_leg_id),
        _int(Message.priority),
        _text(Message.state),
        _text(Message.error_code),
        _int(Message.attempts),
        _ts(Message.created_at),
        _ts(Message.submitted_at),
        _ts(Message.completed_at),
        _ts(Message.updated_at),
        # KRW per message, for the cost lines of the periodic reports.
        _late_float(Message.unit_price),
    ),
    day_column="created_at",
    change_column="updated_at",
)

DELIVERY_EVENTS = SourceTable(
    name="delivery_events",
    view="src_delivery_events",
    columns=(
        _int(DeliveryEvent.id),
        _int(DeliveryEvent.message_id),
        _text(DeliveryEvent.stage),
        _text(DeliveryEvent.status),
        _text(DeliveryEvent.code),
        _ts(DeliveryEvent.occurred_at),
        _ts(DeliveryEvent.recorded_at),
    ),
    day_column="occurred_at",
    change_column="recorded_at",
)

# Clicks and replies say which message they answer (its key, its id), never who clicked or
# replied: the customer is the message's, and the number and text stay in the store.
LINK_CLICKS = SourceTable(
    name="link_clicks",
    view="src_link_clicks",
    columns=(
        _int(LinkClick.id),
        _text(LinkClick.code),
        _ts(LinkClick.clicked_at),
        _text(ShortLink.kind),
        _text(ShortLink.job_id),
        _text(ShortLink.message_key),
        _int(ShortLink.position),
    ),
    day_column="clicked_at",
    change_column="clicked_at",  # a click is never changed
    from_clause=LinkClick.__table__.join(
        ShortLink.__table__, LinkClick.__table__.c.code == ShortLink.__table__.c.code
    ),
)

MO_REPLIES = SourceTable(
    name="mo_messages",
    view="src_mo_messages",
    columns=(
        _int(MoMessage.id),
        _text(MoMessage.provider),
        _text(MoMessage.channel),
        _int(MoMessage.message_id),
        _text(MoMessage.keyword),
        _text(MoMessage.route),
        _ts(MoMessage.received_at),
        _ts(MoMessage.recorded_at),
    ),
    day_column="received_at",
    change_column="recorded_at",
)

# Events, clicks and replies are exported before messages: each is recorded after its
# message exists, so in a snapshot every one finds its message even when the tables
# change mid-export.
SOURCES: tuple[SourceTable, ...] = (DELIVERY_EVENTS, LINK_CLICKS, MO_REPLIES, MESSAGES)
