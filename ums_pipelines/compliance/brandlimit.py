"""The brand message's daily limit: at most ``brand_daily_limit`` (1) per recipient per
Korea-time day, counted in ``recipient_days`` when an outbox row is written.

Every path that writes a row (a bulk split, the one-shot enqueue, a fallback leg, a
real-time request, a resend round) asks :func:`gate_rows` first, in the transaction that
writes the rows: the count and the rows commit together or not at all. The count is one
``INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 WHERE count < limit RETURNING``
per batch: a row comes back only if its customer's day still had room, so two writers
in parallel (PostgreSQL row locks; SQLite's single writer) never pass the limit.

A row over the limit is written ``failed`` with ``E-BRAND-DAILY``, never sent, and the
chain goes on to its next channel (e.g. brand -> SMS): the customer still gets the
message, and the advertising rules of that channel (consent, night, label) apply to it
as to any leg. The day is the one the row may first go: a row held for the night (or a
job's later start) counts on the day it will be sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ums_pipelines.settings import Settings
from ums_pipelines.store.compliance import RecipientDay
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Message

__all__ = ["BRAND", "LIMIT_CODE", "LIMIT_REASON", "gate_messages", "gate_rows", "take_days"]

BRAND = "brand"
LIMIT_CODE = "E-BRAND-DAILY"
LIMIT_REASON = "brand_daily_limit: the recipient's brand messages of the day are used up"
DAYS: Table = RecipientDay.__table__  # type: ignore[assignment]
MESSAGES: Table = Message.__table__  # type: ignore[assignment]
_WILL_SEND = frozenset({"queued", "claimed", "held"})
_BATCH = 500  # keys per statement (5 parameters each, far under SQLite's limit)

Want = tuple[str, date, str]  # customer, day, purpose


def _day(settings: Settings, row: Mapping[str, Any], now: datetime) -> date:
    start = row.get("not_before")
    at = max(now, as_utc(start)) if start is not None else now
    return at.astimezone(settings.tz).date()


def take_days(session: Session, settings: Settings, wanted: Sequence[Want]) -> list[bool]:
    """Count one brand message for each (customer, day, purpose); True where it fits.

    The same customer-day twice in ``wanted`` takes two counts (in order)."""
    limit = settings.brand_daily_limit
    if limit <= 0:
        return [False] * len(wanted)
    granted = [False] * len(wanted)
    pending = list(range(len(wanted)))
    dialect: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    while pending:
        # One statement may touch a key once (PostgreSQL refuses a second update of the
        # same row): repeats wait for the next round.
        seen: set[Want] = set()
        now_round: list[int] = []
        later: list[int] = []
        for i in pending:
            (now_round if wanted[i] not in seen else later).append(i)
            seen.add(wanted[i])
        # Sorted keys: two writers lock the same counters in the same order (no deadlock).
        now_round.sort(key=lambda i: wanted[i])
        fits: set[Want] = set()
        for start in range(0, len(now_round), _BATCH):
            part = [wanted[i] for i in now_round[start : start + _BATCH]]
            stmt = dialect.insert(DAYS).values(
                [
                    {"customer_id": c, "day": d, "channel": BRAND, "purpose": p, "count": 1}
                    for c, d, p in part
                ]
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["customer_id", "day", "channel", "purpose"],
                set_={"count": DAYS.c.count + 1},
                where=DAYS.c.count < limit,
            ).returning(DAYS.c.customer_id, DAYS.c.day, DAYS.c.purpose)
            fits.update((c, d, p) for c, d, p in session.execute(stmt))
        for i in now_round:
            granted[i] = wanted[i] in fits
        pending = later
    return granted


def gate_rows(
    session: Session,
    settings: Settings,
    rows: Sequence[dict[str, Any]],
    purposes: Mapping[str, str],
    now: datetime,
    *,
    skip_existing: bool = False,
) -> set[str]:
    """Count the brand rows about to be written; those over the limit are turned into
    failed rows in place. Returns their idempotency keys (the caller chains them on and
    must not send them). ``purposes``: job id -> purpose. ``skip_existing``: rows whose
    key is already in the outbox (a split taken over) were counted by their writer."""
    brand = [r for r in rows if r["channel"] == BRAND and r["state"] in _WILL_SEND]
    if not brand:
        return set()
    if skip_existing:
        keys = [r["idempotency_key"] for r in brand]
        have = set(
            session.scalars(
                select(MESSAGES.c.idempotency_key).where(MESSAGES.c.idempotency_key.in_(keys))
            )
        )
        brand = [r for r in brand if r["idempotency_key"] not in have]
    wanted = [(r["customer_id"], _day(settings, r, now), purposes[r["job_id"]]) for r in brand]
    refused: set[str] = set()
    for row, ok in zip(brand, take_days(session, settings, wanted), strict=True):
        if not ok:
            row.update(
                state="failed",
                error_code=LIMIT_CODE,
                error_reason=LIMIT_REASON,
                completed_at=now,
                lease_owner=None,
                lease_expires_at=None,
                attempts=0,
            )
            refused.add(row["idempotency_key"])
    return refused


_FIELDS = ("idempotency_key", "job_id", "customer_id", "channel", "state", "not_before")


def gate_messages(
    session: Session,
    settings: Settings,
    messages: Sequence[Message],
    purposes: Mapping[str, str],
    now: datetime,
) -> set[str]:
    """:func:`gate_rows` for ORM rows not yet added to the session."""
    rows = [{f: getattr(m, f) for f in _FIELDS} for m in messages]
    refused = gate_rows(session, settings, rows, purposes, now)
    for message in messages:
        if message.idempotency_key in refused:
            message.state, message.error_code = "failed", LIMIT_CODE
            message.error_reason, message.completed_at = LIMIT_REASON, now
    return refused
