"""Weekly and monthly (and daily) report numbers for one Korea-time period and the one before.

Reads ``rpt_period_segment`` / ``rpt_period_failure`` (day × job × channel grain) through a
read-only DuckDB connection. Department and purpose are job attributes kept in the store,
not in the Parquet export (it carries only message facts), so the caller passes the job
dimension (``job_dimension(store)``); a job missing from it reports as "unknown".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import duckdb
import polars as pl
from sqlalchemy import select

from ums_pipelines.analytics.models import read_only_connection
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Job

__all__ = [
    "KINDS",
    "Line",
    "Period",
    "PeriodKind",
    "PeriodReport",
    "Reason",
    "job_dimension",
    "load_period_report",
    "period_of",
]

PeriodKind = Literal["daily", "weekly", "monthly"]
KINDS: tuple[PeriodKind, ...] = ("daily", "weekly", "monthly")
UNKNOWN = "unknown"
TOP_REASONS = 10
_COUNTS = ("requested", "first_legs", "sent", "delivered", "failed", "fell_back")


@dataclass(frozen=True)
class Period:
    """[start, end) in Korea-time days: a day, an ISO week (Mon–Sun) or a calendar month."""

    kind: PeriodKind
    start: date
    end: date

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def previous(self) -> Period:
        return period_of(self.kind, self.start - timedelta(days=1))

    @property
    def label(self) -> str:
        if self.kind == "monthly":
            return self.start.strftime("%Y-%m")
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d} ({self.start.isoformat()}–{self.last_day.isoformat()})"
        return self.start.isoformat()


def period_of(kind: str, day: date) -> Period:
    """The period of ``kind`` that holds Korea-time ``day``."""
    if kind == "daily":
        return Period("daily", day, day + timedelta(days=1))
    if kind == "weekly":
        start = day - timedelta(days=day.weekday())
        return Period("weekly", start, start + timedelta(days=7))
    if kind == "monthly":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return Period("monthly", start, end)
    raise ValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")


@dataclass
class Line:
    """One channel, department or purpose (or the total) over the period."""

    key: str
    name: str
    requested: int = 0
    first_legs: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    fell_back: int = 0
    cost: float = 0.0
    previous: Line | None = None

    @property
    def success_rate(self) -> float | None:
        return self.delivered / self.sent if self.sent else None

    @property
    def fallback_rate(self) -> float | None:
        # Legs of this group that handed over to a next leg, per leg of the group.
        return self.fell_back / self.requested if self.requested else None

    @property
    def requested_change(self) -> int | None:
        return None if self.previous is None else self.requested - self.previous.requested

    @property
    def cost_change(self) -> float | None:
        return None if self.previous is None else self.cost - self.previous.cost

    @property
    def success_rate_change(self) -> float | None:
        before = None if self.previous is None else self.previous.success_rate
        return None if before is None or self.success_rate is None else self.success_rate - before

    def add(self, row: Mapping[str, Any]) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + int(row[name]))
        self.cost += float(row["cost"])


@dataclass(frozen=True)
class Reason:
    error_code: str
    failures: int
    previous: int


@dataclass(frozen=True)
class PeriodReport:
    period: Period
    total: Line
    channels: list[Line]
    departments: list[Line]
    purposes: list[Line]
    reasons: list[Reason]
    generated_at: datetime
    rows: int = 0
    channel_names: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.total.requested == 0


_SEGMENTS = """
select s.report_day >= ? as current, s.channel,
       coalesce(j.department, 'unknown') as department,
       coalesce(j.purpose, 'unknown') as purpose,
       sum(s.requested) as requested, sum(s.first_legs) as first_legs, sum(s.sent) as sent,
       sum(s.delivered) as delivered, sum(s.failed) as failed,
       sum(s.fell_back) as fell_back, sum(s.cost) as cost
from rpt_period_segment as s
left join report_jobs as j on s.job_id = j.job_id
where s.report_day >= ? and s.report_day < ?
group by all
"""
_REASONS = """
select error_code,
       sum(failures) filter (where report_day >= ?) as failures,
       sum(failures) filter (where report_day < ?) as previous
from rpt_period_failure
where report_day >= ? and report_day < ?
group by error_code
order by failures desc nulls last, error_code
"""
_NAMES = """
select channel, any_value(channel_name_ko), any_value(channel_name_en), min(channel_order)
from dim_channel group by channel order by 4, 1
"""


def load_period_report(
    settings: Settings,
    kind: str,
    start: date,
    *,
    jobs: Mapping[str, tuple[str, str]] | None = None,
    generated_at: datetime | None = None,
) -> PeriodReport:
    """The period of ``kind`` starting on ``start`` and the one before, from the analytics file.

    ``jobs`` maps job_id to (department, purpose).
    """
    period = period_of(kind, start)
    if period.start != start:
        raise ValueError(
            f"start: {start.isoformat()} does not begin a {kind} period "
            f"(that period starts {period.start.isoformat()})"
        )
    before = period.previous
    frame = pl.DataFrame(
        [(k, d, p) for k, (d, p) in (jobs or {}).items()],
        schema={"job_id": pl.String(), "department": pl.String(), "purpose": pl.String()},
        orient="row",
    )
    with read_only_connection(settings) as conn:
        conn.register("report_jobs", frame.to_arrow())
        try:
            segs = _fetch(conn, _SEGMENTS, [period.start, before.start, period.end])
            reasons = _fetch(conn, _REASONS, [period.start, period.start, before.start, period.end])
            names = {str(r[0]): (str(r[1]), str(r[2])) for r in conn.execute(_NAMES).fetchall()}
        except duckdb.CatalogException as exc:
            raise LookupError("rpt_period_segment is not built yet: run the models") from exc

    def group(dim: str, label: Mapping[str, str]) -> list[Line]:
        now: dict[str, Line] = {}
        old: dict[str, Line] = {}
        for row in segs:
            lines = now if row["current"] else old
            key = str(row[dim])
            lines.setdefault(key, Line(key, label.get(key, key))).add(row)
        for key, line in now.items():
            line.previous = old.get(key, Line(key, line.name))
        return sorted(now.values(), key=lambda x: (-x.requested, x.key))

    channel_labels = {k: v[0] for k, v in names.items()}
    total = Line("total", "합계")
    total_before = Line("total", "합계")
    for row in segs:
        (total if row["current"] else total_before).add(row)
    total.previous = total_before
    top = [
        Reason(str(r["error_code"]), int(r["failures"] or 0), int(r["previous"] or 0))
        for r in reasons
        if r["failures"]
    ][:TOP_REASONS]
    return PeriodReport(
        period=period,
        total=total,
        channels=group("channel", channel_labels),
        departments=group("department", {}),
        purposes=group("purpose", {}),
        reasons=top,
        generated_at=(generated_at or datetime.now(UTC)).astimezone(settings.tz),
        rows=total.requested + total_before.requested,
        channel_names=names,
    )


def _fetch(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def job_dimension(store: Store) -> dict[str, tuple[str, str]]:
    """job_id -> (department, purpose) for every job in the store (a few rows a job)."""
    with store.session() as session:
        rows = session.execute(select(Job.job_id, Job.department, Job.purpose)).all()
    return {str(j): (str(d), str(p)) for j, d, p in rows}
