"""The last mile of suppression: a customer who withdrew consent, opted out or died after
their job's targets were frozen gets nothing more, whatever stage their message is at.

Targets are frozen once per job (``targets.extract_targets``), but a change can arrive
at any time after. Four places check again, each on what the store says now:

1. the change itself (``stop_for_customers``, called in the transaction that applies a
   customer change file or records an opt-out) cancels the customer's queued and held
   rows of every open job, and stamps the ``suppression`` watermark with the time;
2. a dispatcher or agent about to send a claimed batch (``StopScreen``) checks it while
   a stop is recent (younger than a lease: no row claimed before the stop is still in a
   sender's hands after that), and cancels what may no longer be sent;
3. a bulk split written after a stop (``stopped``, from ``dispatch/bulk.py``) and
4. a fallback leg (``dispatch/record.next_legs``) are checked as they are written.

A stop is: the customer is deceased (every message), an explicit withdrawal of the
consent for the message's channel and purpose (``granted`` false: a customer who never
gave one was not targeted, or came in under an exception the withdrawal ends), or an
active opt-out covering the channel and purpose. The stopped message is ``cancelled``
with ``E-SUPPRESSED`` and the reason; it starts no fallback leg.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Table, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ums_pipelines.dispatch.claims import MESSAGES, Claimed
from ums_pipelines.lanes import Purpose
from ums_pipelines.store.contact import OptOut
from ums_pipelines.store.engine import Store, as_utc, utcnow
from ums_pipelines.store.models import Consent, Customer, Job, Watermark

__all__ = [
    "CODE",
    "WATERMARK",
    "StopScreen",
    "last_stop_at",
    "stop_for_customers",
    "stopped",
]

CODE = "E-SUPPRESSED"
WATERMARK = "suppression"
_CLOSED_JOBS = ("done", "cancelled", "stopped", "rejected")
_CHUNK = 500
T = MESSAGES.c
_WATERMARKS: Table = Watermark.__table__  # type: ignore[assignment]

# (message id, customer id, channel, job purpose)
Row = tuple[int, str, str, str]


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def stopped(session: Session, rows: Iterable[Row]) -> dict[int, str]:
    """The rows that may no longer be sent, with the reason: three indexed reads per 500
    customers, whatever the number of rows."""
    rows = list(rows)
    ids = sorted({r[1] for r in rows})
    if not ids:
        return {}
    deceased: set[str] = set()
    withdrawn: set[tuple[str, str, str]] = set()
    opted: dict[str, list[tuple[str | None, str | None]]] = {}
    for chunk in _chunks(ids):
        deceased.update(
            session.scalars(
                select(Customer.customer_id).where(
                    Customer.customer_id.in_(chunk), Customer.deceased.is_(True)
                )
            )
        )
        withdrawn.update(
            (c, ch, p)
            for c, ch, p in session.execute(
                select(Consent.customer_id, Consent.channel, Consent.purpose).where(
                    Consent.customer_id.in_(chunk), Consent.granted.is_(False)
                )
            )
        )
        for c, ch, p in session.execute(
            select(OptOut.customer_id, OptOut.channel, OptOut.purpose).where(
                OptOut.customer_id.in_(chunk), OptOut.withdrawn_at.is_(None)
            )
        ):
            opted.setdefault(c, []).append((ch, p))
    found: dict[int, str] = {}
    for mid, cid, channel, purpose in rows:
        if cid in deceased:
            found[mid] = "customer is deceased"
        elif (cid, channel, Purpose(purpose).consent_key) in withdrawn:
            found[mid] = f"consent withdrawn ({channel}, {purpose})"
        elif any(
            (ch is None or ch == channel) and (p is None or p == purpose)
            for ch, p in opted.get(cid, ())
        ):
            found[mid] = f"opted out ({channel}, {purpose})"
    return found


def _cancel(session: Session, found: dict[int, str], now: datetime, **guard: object) -> int:
    n = 0
    for reason in set(found.values()):
        ids = [mid for mid, r in found.items() if r == reason]
        conditions: list[ColumnElement[bool]] = [T.id.in_(ids)]
        if "owner" in guard:
            conditions += [T.lease_owner == guard["owner"], T.state == "claimed"]
        else:
            conditions.append(T.state.in_(("queued", "held")))
        result = session.execute(
            update(MESSAGES)
            .where(and_(*conditions))
            .values(
                state="cancelled",
                error_code=CODE,
                error_reason=f"stopped before sending: {reason}",
                lease_owner=None,
                lease_expires_at=None,
                completed_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        n += int(result.rowcount)  # type: ignore[attr-defined]
    return n


def stop_for_customers(
    session: Session, customer_ids: Collection[str], now: datetime | None = None
) -> int:
    """Cancel the not-yet-claimed rows of open jobs that these customers may no longer
    get, and stamp the watermark so senders check what they hold. In the caller's
    transaction: the change and its stops commit together."""
    now = now or utcnow()
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    open_jobs = select(Job.job_id).where(Job.status.not_in(_CLOSED_JOBS))
    n = 0
    for chunk in _chunks(ids):
        rows = session.execute(
            select(T.id, T.customer_id, T.channel, Job.purpose)
            .join(Job, Job.job_id == T.job_id)
            .where(
                T.job_id.in_(open_jobs),
                T.customer_id.in_(chunk),
                T.state.in_(("queued", "held")),
            )
        ).all()
        found = stopped(session, [(r[0], r[1], r[2], r[3]) for r in rows])
        n += _cancel(session, found, now)
    _stamp(session, now)
    return n


def _stamp(session: Session, now: datetime) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(_WATERMARKS).values(name=WATERMARK, value=now.isoformat(), updated_at=now)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"], set_={"value": stmt.excluded.value, "updated_at": now}
        )
    )


def last_stop_at(session: Session) -> datetime | None:
    """When the last change that can stop a message was applied (None: never)."""
    value = session.scalar(select(Watermark.updated_at).where(Watermark.name == WATERMARK))
    return as_utc(value) if value is not None else None


@dataclass
class StopScreen:
    """A sender's check of what it holds: while a stop is younger than ``window``, each
    batch is checked and its stopped rows cancelled under this sender's lease; otherwise
    the cost is one read of the watermark per ``poll_s``. The window is far longer than
    a lease because heartbeats renew leases: a batch waiting for rate-limit tokens may
    have been claimed minutes before it is sent."""

    store: Store
    owner: str
    window: timedelta = timedelta(minutes=15)
    poll_s: float = 0.5
    _polled: float = field(default=-1e9, init=False)
    _last: datetime | None = field(default=None, init=False)

    def stale(self) -> bool:
        """Whether the watermark should be read again (``poll``, off the event loop)."""
        return time.monotonic() - self._polled >= self.poll_s

    def poll(self) -> None:
        with self.store.reading() as session:
            self._last = last_stop_at(session)
        self._polled = time.monotonic()

    def due(self, now: datetime) -> bool:
        """Whether batches must be checked now (as of the last poll)."""
        return self._last is not None and now - self._last < self.window

    def __call__(self, batch: list[Claimed], now: datetime | None = None) -> list[Claimed]:
        if not batch:
            return batch
        now = now or utcnow()
        with self.store.session() as session:
            rows = session.execute(
                select(T.id, T.customer_id, T.channel, Job.purpose)
                .join(Job, Job.job_id == T.job_id)
                .where(T.id.in_([b.id for b in batch]))
            ).all()
            found = stopped(session, [(r[0], r[1], r[2], r[3]) for r in rows])
            if not found:
                return batch
            _cancel(session, found, now, owner=self.owner)
        return [b for b in batch if b.id not in found]
