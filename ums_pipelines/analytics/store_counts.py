"""Rows of an exported store table per Korea-time day, counted in the store itself.

The other side of the models' reconciliation checks. The day is the same one the export
partitions by (the table's immutable day column in ``settings.timezone``), computed by the
database in one grouped query: PostgreSQL converts with its own zone database; SQLite has
none: it shifts by the zone's offset when that is the same over the whole window (Korea),
and otherwise calls a deterministic Python function registered on the connection.

Two counts per day: every row the store has now, and the rows inserted before the last
export's cut (its watermark less the overlap), which that export must hold. Between the
two is the export's lag: rows that arrived since it ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ums_pipelines.analytics.export import DEFAULT_OVERLAP, WATERMARK_PREFIX
from ums_pipelines.analytics.schema import SOURCES, SourceTable
from ums_pipelines.retention.policy import cutoff
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Watermark

__all__ = [
    "INSERTED_COLUMN",
    "RETENTION_DAYS_SETTING",
    "StoreDayCounts",
    "store_counts_by_day",
    "window_start",
]

# The retention class deleting each table's rows: before its cutoff the store has let go
# of rows the analytics copy keeps (docs/retention.md), so counts there cannot agree.
RETENTION_DAYS_SETTING = {
    "messages": "retention_message_rows_days",
    "delivery_events": "retention_delivery_events_days",
    "link_clicks": "retention_short_links_days",
    "mo_messages": "retention_mo_replies_days",
}
# Clicks go with their link, which is purged by the link's creation time (once expired):
# a link made just before the cutoff was clicked up to its lifetime later, so the store
# holds a click day in full only from the cutoff plus that lifetime.
_LIFETIME_SETTING = {"link_clicks": "shortlink_ttl_days"}
# The time a row was inserted (never changes afterwards); a table not named here uses its
# change column, a weaker bound (a row changed after the cut is not required).
INSERTED_COLUMN = {
    "messages": "created_at",
    "delivery_events": "recorded_at",
    "link_clicks": "clicked_at",
    "mo_messages": "recorded_at",
}
_SQLITE_DAY_FUNCTION = "ums_local_day"


@dataclass(frozen=True)
class StoreDayCounts:
    now: dict[date, int]  # rows in the store now, per Korea day
    exported: dict[date, int]  # of those, inserted before the last export's cut
    cut: datetime | None  # None: nothing exported yet


# A table no retention class deletes from is compared over all its days.
_BEGINNING = date(1970, 1, 1)


def window_start(settings: Settings, table: str, now: datetime) -> date:
    """The first Korea day the store still holds in full for ``table``."""
    setting = RETENTION_DAYS_SETTING.get(table)
    if setting is None:
        return _BEGINNING
    days = int(getattr(settings, setting))
    lifetime = _LIFETIME_SETTING.get(table)
    if lifetime is not None:
        days = max(days - int(getattr(settings, lifetime)), 1)
    return cutoff(settings, days, now).astimezone(settings.tz).date()


def store_counts_by_day(
    store: Store, settings: Settings, table: str, start: date
) -> StoreDayCounts:
    """Rows of ``table`` per Korea day from ``start`` on: now, and those the last export
    must hold."""
    source = _source(table)
    column = source.column(source.day_column).attr
    inserted = source.column(INSERTED_COLUMN.get(table, source.change_column)).attr
    lower = datetime.combine(start, time.min, tzinfo=settings.tz).astimezone(UTC)
    with store.session() as session:
        cut = _export_cut(session, table)
        day = _local_day(session, column, settings, start).label("korea_day")
        exported = func.sum(case((inserted < cut, 1), else_=0)) if cut is not None else literal(0)
        # Grouped by the label: a repeated expression would carry a second bind parameter,
        # which PostgreSQL does not recognise as the same expression.
        stmt = select(day, func.count(), exported).where(column >= lower).group_by("korea_day")
        # A source whose columns span tables (a click with its link) counts over the join.
        joined = getattr(source, "from_clause", None)
        if joined is not None:
            stmt = stmt.select_from(joined)
        rows = session.execute(stmt).all()
    return StoreDayCounts(
        now={_as_date(d): int(n) for d, n, _ in rows},
        exported={_as_date(d): int(e or 0) for d, _, e in rows},
        cut=cut,
    )


def _export_cut(session: Session, table: str) -> datetime | None:
    """The last export's watermark less its overlap: rows inserted earlier are in it."""
    row = session.get(Watermark, WATERMARK_PREFIX + table)
    if row is None:
        return None
    return datetime.fromisoformat(row.value).astimezone(UTC) - DEFAULT_OVERLAP


def _source(table: str) -> SourceTable:
    for source in SOURCES:
        if source.name == table:
            return source
    raise ValueError(f"store table {table!r} is not exported; known: {[s.name for s in SOURCES]}")


def _local_day(
    session: Session, column: Any, settings: Settings, start: date
) -> ColumnElement[Any]:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return cast(func.timezone(settings.timezone, column), Date)
    if dialect == "sqlite":
        tz = settings.tz
        minutes = _fixed_offset_minutes(tz, start, datetime.now(UTC).date())
        if minutes is not None:
            # No offset change in the window (Korea: none since 1988): SQLite's own date()
            # with that offset, about five times faster than a Python function per row.
            return func.date(column, f"{minutes:+d} minutes")

        def local_day(text: str | None) -> str | None:
            if text is None:
                return None
            stamp = datetime.fromisoformat(text)
            # Stored naive, in UTC (store.models.UtcTime).
            stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp
            return stamp.astimezone(tz).date().isoformat()

        raw = session.connection().connection.driver_connection
        raw.create_function(_SQLITE_DAY_FUNCTION, 1, local_day, deterministic=True)  # type: ignore[union-attr]
        return getattr(func, _SQLITE_DAY_FUNCTION)(column)  # type: ignore[no-any-return]
    raise ValueError(f"counting Korea days is not implemented for {dialect}")


def _fixed_offset_minutes(tz: ZoneInfo, start: date, end: date) -> int | None:
    """The zone's one UTC offset from ``start`` to ``end`` in minutes, or None if it
    changes (daylight saving, a redefined zone). Probed at noon of every day: an offset
    in force for less than a day does not exist."""
    offsets = set()
    day = start
    while day <= end + timedelta(days=1):
        offset = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
        offsets.add(offset)
        if len(offsets) > 1:
            return None
        day += timedelta(days=1)
    [offset] = offsets
    if offset is None or offset.total_seconds() % 60:
        return None
    return int(offset.total_seconds() // 60)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
