"""Frequency caps: at most ``freq_cap_day[purpose]`` messages per customer per Korea-time
day and ``freq_cap_week[purpose]`` over the 7 days ending that day, across every channel.

Counted in ``recipient_days`` under the channel :data:`ALL_CHANNELS` ("*"), one count per
message: its first leg when the row is written (bulk splits, the one-shot enqueue,
real-time requests). A fallback leg or a resend round is the same message again and is
not counted; the brand message's own per-channel rows (``compliance.brandlimit``) are
apart and never read here.

Target extraction suppresses a customer already at the cap (:func:`capped`, one grouped
query); jobs in the urgent lane and authentication messages are exempt. Rows written
later than the extraction are counted but not refused: two jobs frozen the same morning
may both reach a customer (see docs/compliance.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.compliance import RecipientDay
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Job, Message

__all__ = [
    "ALL_CHANNELS",
    "FREQUENCY_CAP",
    "capped",
    "count_messages",
    "count_rows",
    "exempt",
    "send_day",
]

ALL_CHANNELS = "*"
FREQUENCY_CAP = "frequency_cap"
DAYS: Table = RecipientDay.__table__  # type: ignore[assignment]
MESSAGES: Table = Message.__table__  # type: ignore[assignment]
WEEK_DAYS = 7
# A first leg written in these states is a message the customer will (or may) get: a
# failed first leg chains on to its next channel. Cancelled and expired rows never go.
_NOT_SENT = frozenset({"cancelled", "expired"})


def exempt(job: Job) -> bool:
    """Urgent-lane jobs and authentication messages are never capped."""
    return job.purpose == Purpose.AUTH.value or job.priority <= int(Lane.URGENT)


def send_day(settings: Settings, job: Job, now: datetime) -> date:
    """The Korea-time day a job's first messages may go: today, or its later start."""
    start = as_utc(job.not_before) if job.not_before is not None else None
    at = max(now, start) if start is not None else now
    return at.astimezone(settings.tz).date()


def capped(session: Session, settings: Settings, job: Job, now: datetime) -> set[str]:
    """Customers already at the job's purpose's daily or weekly cap on its send day.

    One grouped query over the week's rows of that purpose; empty when the job is exempt
    or its purpose has no cap."""
    day_cap = settings.freq_cap_day.get(job.purpose)
    week_cap = settings.freq_cap_week.get(job.purpose)
    if exempt(job) or (day_cap is None and week_cap is None):
        return set()
    day = send_day(settings, job, now)
    first = day - timedelta(days=WEEK_DAYS - 1 if week_cap is not None else 0)
    today = func.sum(case((DAYS.c.day == day, DAYS.c.count), else_=0))
    week = func.sum(DAYS.c.count)
    over = []
    if day_cap is not None:
        over.append(today >= day_cap)
    if week_cap is not None:
        over.append(week >= week_cap)
    query = (
        select(DAYS.c.customer_id)
        .where(
            and_(
                DAYS.c.channel == ALL_CHANNELS,
                DAYS.c.purpose == job.purpose,
                DAYS.c.day >= first,
                DAYS.c.day <= day,
            )
        )
        .group_by(DAYS.c.customer_id)
        .having(or_(*over))
    )
    return set(session.scalars(query))


def _day(settings: Settings, row: Mapping[str, Any], now: datetime) -> date:
    start = row.get("not_before")
    at = max(now, as_utc(start)) if start is not None else now
    return at.astimezone(settings.tz).date()


def count_rows(
    session: Session,
    settings: Settings,
    rows: Sequence[Mapping[str, Any]],
    purposes: Mapping[str, str],
    now: datetime,
    *,
    skip_existing: bool = False,
) -> int:
    """Count one message per first-leg row about to be written, in the writer's
    transaction; returns how many were counted. ``purposes``: job id -> purpose.
    ``skip_existing``: rows whose key is already in the outbox (a split taken over) were
    counted by their writer. The day is the one the row may first go (a night-held row
    counts on the morning it is released)."""
    firsts = [
        r
        for r in rows
        if not r.get("leg") and not r.get("send_round") and r["state"] not in _NOT_SENT
    ]
    if skip_existing and firsts:
        keys = [r["idempotency_key"] for r in firsts]
        have = set(
            session.scalars(
                select(MESSAGES.c.idempotency_key).where(MESSAGES.c.idempotency_key.in_(keys))
            )
        )
        firsts = [r for r in firsts if r["idempotency_key"] not in have]
    wanted = Counter(
        (r["customer_id"], _day(settings, r, now), purposes[r["job_id"]]) for r in firsts
    )
    if not wanted:
        return 0
    # One cached single-row statement run as the driver's executemany: a multi-VALUES
    # INSERT of 500 rows was compiled afresh for every slice, a third of the bulk
    # writer's time, inside its write transaction (which real-time claims wait for).
    # Sorted keys: two writers take the same counters' row locks in the same order.
    params = [
        {"customer_id": c, "day": d, "purpose": p, "count": wanted[c, d, p]}
        for (c, d, p) in sorted(wanted)
    ]
    session.execute(_upsert(session.get_bind().dialect.name), params)
    return sum(wanted.values())


@cache
def _upsert(dialect_name: str) -> Any:
    """The counter upsert for one row, built once per dialect (compiled once, cached)."""
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    stmt = insert(DAYS).values(
        customer_id=bindparam("customer_id"),
        day=bindparam("day"),
        channel=ALL_CHANNELS,
        purpose=bindparam("purpose"),
        count=bindparam("count"),
    )
    return stmt.on_conflict_do_update(
        index_elements=["customer_id", "day", "channel", "purpose"],
        set_={"count": DAYS.c.count + stmt.excluded.count},
    )


_FIELDS = ("idempotency_key", "job_id", "customer_id", "state", "not_before", "leg", "send_round")


def count_messages(
    session: Session,
    settings: Settings,
    messages: Sequence[Message],
    purposes: Mapping[str, str],
    now: datetime,
) -> int:
    """:func:`count_rows` for ORM rows not yet added to the session."""
    rows = [{f: getattr(m, f) for f in _FIELDS} for m in messages]
    return count_rows(session, settings, rows, purposes, now)
