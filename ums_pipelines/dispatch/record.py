"""Recording what providers answered, in bulk, and starting fallback legs.

Only the lease holder records (``lease_owner = owner AND state = 'claimed'``): a sender
whose lease expired and was taken over cannot overwrite the new owner's result, and a
result recorded twice is recorded once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, Table, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ums_pipelines.billing import price_accepted
from ums_pipelines.channels.tokens import retire_push_tokens
from ums_pipelines.compliance import brandlimit
from ums_pipelines.content.plan import renderer_for, write_links
from ums_pipelines.content.render import Renderer, take_links
from ums_pipelines.dispatch import lastmile
from ums_pipelines.dispatch.backoff import Backoff
from ums_pipelines.dispatch.claims import MESSAGES, T, sqlite_param
from ums_pipelines.dispatch.compose import compose_row
from ums_pipelines.dispatch.requestvalues import request_values
from ums_pipelines.jobs import ChannelVariant, template_variants
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Customer, DeliveryEvent, Job

__all__ = [
    "DEFAULT_BACKOFF",
    "MAX_ATTEMPTS",
    "UNCONFIRMED",
    "RecordStats",
    "SendOutcome",
    "next_legs",
    "record_results",
]

MAX_ATTEMPTS = 5
# Retries ran out on errors that leave the provider's side unknown: a status query decides.
UNCONFIRMED = "E-UNCONFIRMED"
EVENTS: Table = DeliveryEvent.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class SendOutcome:
    message_id: int
    status: str  # accepted | rejected | retry
    provider_message_id: str | None = None
    code: str | None = None
    reason: str | None = None
    fall_back: bool = True
    retry_after: float | None = None
    # The push token is invalid (channels.errors: retire_token): clear it on the customer.
    retire_token: bool = False


@dataclass
class RecordStats:
    accepted: int = 0
    retried: int = 0
    failed: int = 0
    fell_back: int = 0
    lost_lease: int = 0
    tokens_retired: int = 0
    retry_codes: dict[str, int] = field(default_factory=dict)


# Short base: most transport errors on a loopback or LAN relay clear within a second.
DEFAULT_BACKOFF = Backoff(base_s=0.5, cap_s=60.0)


def _events(
    session: Session, rows: Sequence[tuple[int, str, str | None, str | None]], now: datetime
) -> None:
    if rows:
        dialect = session.get_bind().dialect.name
        stmt = postgresql.insert(EVENTS) if dialect == "postgresql" else sqlite.insert(EVENTS)
        # One event per (message, stage, status): a second retry of a row adds nothing.
        session.execute(
            stmt.on_conflict_do_nothing(),
            [
                {
                    "message_id": mid,
                    "stage": "relay",
                    "status": status,
                    "code": code,
                    "detail": reason,
                    "occurred_at": now,
                    "recorded_at": now,
                }
                for mid, status, code, reason in rows
            ],
        )


_ACCEPTED_SQL = (
    "UPDATE messages SET state = CASE WHEN state = 'claimed' THEN 'accepted' ELSE state END, "
    "provider_message_id = ?, submitted_at = ?, lease_owner = NULL, lease_expires_at = NULL, "
    "leg_deadline_at = ?, updated_at = ?, unit_price = COALESCE(unit_price, ?) "
    "WHERE id = ? AND lease_owner = ?"
)


def _accepted_sqlite(
    session: Session,
    owner: str,
    accepted: list[SendOutcome],
    now: datetime,
    leg_timeout: timedelta | None,
    prices: Mapping[int, Decimal],
) -> int:
    """The accepted-rows update of ``record_results`` on the driver's executemany."""
    at = sqlite_param(now)
    deadline = sqlite_param(now + leg_timeout) if leg_timeout else None
    cost = {i: float(p) for i, p in prices.items()}  # as SQLAlchemy's Numeric binds it
    result = session.connection().exec_driver_sql(
        _ACCEPTED_SQL,
        [
            (o.provider_message_id, at, deadline, at, cost.get(o.message_id), o.message_id, owner)
            for o in accepted
        ],
    )
    return int(result.rowcount)


def _by_id(session: Session, rows: list[dict[str, Any]], **values: Any) -> None:
    """One executemany UPDATE of rows by id (``mid``), giving up their lease."""
    session.execute(
        update(MESSAGES)
        .where(T.id == bindparam("mid"))
        .values(lease_owner=None, lease_expires_at=None, **values),
        rows,
        execution_options={"synchronize_session": False},
    )


def record_results(
    session: Session,
    settings: Settings,
    owner: str,
    outcomes: Iterable[SendOutcome],
    now: datetime,
    backoff: Backoff = DEFAULT_BACKOFF,
    leg_timeout: timedelta | None = None,
    prices: Mapping[int, Decimal] | None = None,
) -> RecordStats:
    """Apply one batch's outcomes. ``prices`` (message id -> price in force), when the
    caller knows them, are written by the same UPDATE as the acceptance: a second UPDATE
    rewrote every accepted row again."""
    stats = RecordStats()
    prices = prices or {}
    outcomes = list(outcomes)
    # In id order: every bulk update of the outbox locks its rows in the same order, so
    # two of them (two senders, a sender and the receipts) cannot deadlock on PostgreSQL.
    outcomes = sorted(outcomes, key=lambda o: o.message_id)
    accepted = [o for o in outcomes if o.status == "accepted"]
    others = [o for o in outcomes if o.status != "accepted"]
    if accepted and session.get_bind().dialect.name == "sqlite":
        stats.accepted = _accepted_sqlite(session, owner, accepted, now, leg_timeout, prices)
        stats.lost_lease += len(accepted) - stats.accepted
    elif accepted:
        result = session.execute(
            update(MESSAGES)
            # A fast provider's receipt may land before this write: keep its final state.
            .where(T.id == bindparam("mid"), T.lease_owner == owner)
            .values(
                state=case((T.state == "claimed", "accepted"), else_=T.state),
                provider_message_id=bindparam("pmid"),
                submitted_at=now,
                lease_owner=None,
                lease_expires_at=None,
                leg_deadline_at=(now + leg_timeout) if leg_timeout else None,
                updated_at=now,
                unit_price=func.coalesce(T.unit_price, bindparam("price", type_=Numeric(12, 4))),
            ),
            [
                {
                    "mid": o.message_id,
                    "pmid": o.provider_message_id,
                    "price": prices.get(o.message_id),
                }
                for o in accepted
            ],
            execution_options={"synchronize_session": False},
        )
        stats.accepted = int(result.rowcount)  # type: ignore[attr-defined]
        stats.lost_lease += len(accepted) - stats.accepted
    unpriced = [o.message_id for o in accepted if o.message_id not in prices]
    if unpriced:
        # What the provider accepted is priced now, at the price in force (billing).
        price_accepted(session, settings, unpriced)
    if not others:
        return stats
    by_id = {o.message_id: o for o in others}
    held = dict(
        session.execute(
            select(T.id, T.attempts).where(
                T.id.in_(by_id), T.lease_owner == owner, T.state == "claimed"
            )
        ).all()
    )
    stats.lost_lease += len(by_id) - len(held)
    retry: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    unconfirmed: list[dict[str, Any]] = []
    events: list[tuple[int, str, str | None, str | None]] = []
    for mid, attempts in held.items():
        o = by_id[mid]
        if o.status == "retry" and attempts < MAX_ATTEMPTS:
            delay = backoff.delay(int(attempts) - 1, o.retry_after)
            retry.append({"mid": mid, "nb": now + timedelta(seconds=delay), "c": o.code})
            events.append((mid, "retry", o.code, o.reason))
            stats.retry_codes[o.code or "?"] = stats.retry_codes.get(o.code or "?", 0) + 1
        elif o.status == "retry":
            # Out of attempts, but an earlier one may have reached the provider (a timeout
            # or reset after it recorded the message): failing here and falling back could
            # deliver twice and left the books off by that message. Ask the provider first
            # (status_query): delivered/failed apply as a receipt, unknown fails it then.
            unconfirmed.append({"mid": mid, "c": UNCONFIRMED, "r": f"{o.code}: {o.reason}"})
            events.append((mid, "unconfirmed", o.code, o.reason))
        else:
            failed.append({"mid": mid, "c": o.code, "r": (o.reason or "")[:500]})
            events.append((mid, "rejected", o.code, o.reason))
    if unconfirmed:
        _by_id(
            session,
            unconfirmed,
            state="accepted",
            error_code=bindparam("c"),
            error_reason=bindparam("r"),
            updated_at=now - timedelta(days=1),  # due for a status query at once
        )
    if retry:
        _by_id(
            session,
            retry,
            state="queued",
            not_before=bindparam("nb"),
            error_code=bindparam("c"),
            updated_at=now,
        )
        stats.retried = len(retry)
    if failed:
        _by_id(
            session,
            failed,
            state="failed",
            error_code=bindparam("c"),
            error_reason=bindparam("r"),
            completed_at=now,
            updated_at=now,
        )
        stats.failed = len(failed)
        retire = {f["mid"]: f["c"] for f in failed if by_id[f["mid"]].retire_token}
        if retire:
            stats.tokens_retired = retire_push_tokens(session, retire, now)
        chainable = [f["mid"] for f in failed if by_id[f["mid"]].fall_back]
        stats.fell_back = len(next_legs(session, settings, chainable, now))
    _events(session, events, now)
    return stats


def _standing(session: Session, jobs: dict[str, Job], job_id: str) -> bool:
    if job_id not in jobs:
        job = session.get(Job, job_id)
        assert job is not None
        jobs[job_id] = job
    return jobs[job_id].status == "standing"


def _stop_legs(
    session: Session,
    owners: Sequence[Job],
    parents: Sequence[Any],
    rows: list[dict[str, Any]],
    now: datetime,
) -> None:
    """A customer stopped (withdrawal, opt-out, death) since the job began gets no next
    leg sent: it is written cancelled, and so chains no further."""
    stop_at = lastmile.last_stop_at(session)
    if stop_at is None or all(stop_at < as_utc(job.created_at) for job in owners):
        return
    stops = lastmile.stopped(
        session,
        (
            (i, p.customer_id, p.chain[p.leg + 1], job.purpose)
            for i, (p, job) in enumerate(zip(parents, owners, strict=True))
        ),
    )
    for i, reason in stops.items():
        rows[i].update(
            state="cancelled",
            error_code=lastmile.CODE,
            error_reason=f"stopped before sending: {reason}",
            completed_at=now,
        )


def next_legs(
    session: Session, settings: Settings, failed_ids: Sequence[int], now: datetime
) -> list[int]:
    """Create the next leg of each failed message whose chain goes on; returns new ids.

    A next leg whose own rendering fails is a failed row at once and chains on in turn,
    so a recipient is never dropped because one channel's content did not render.
    """
    created: list[int] = []
    pending = list(failed_ids)
    jobs: dict[str, Job] = {}
    renderers: dict[str, Renderer] = {}
    variants: dict[str, dict[str, ChannelVariant]] = {}
    today = now.astimezone(settings.tz).strftime("%Y-%m-%d")
    while pending:
        parents = session.execute(
            select(T.id, T.job_id, T.customer_id, T.leg, T.chain, T.idempotency_key).where(
                T.id.in_(pending), T.next_leg_id.is_(None)
            )
        ).all()
        parents = [p for p in parents if p.leg + 1 < len(p.chain)]
        if not parents:
            break
        customers = {
            c.customer_id: c
            for c in session.execute(
                select(Customer.__table__).where(
                    Customer.__table__.c.customer_id.in_({p.customer_id for p in parents})
                )
            )
        }
        rows: list[dict[str, Any]] = []
        standing = [p.id for p in parents if _standing(session, jobs, p.job_id)]
        carried = request_values(session, standing) if standing else {}
        for p in parents:
            if p.job_id not in variants:
                job = jobs[p.job_id]
                variants[p.job_id] = template_variants(
                    session, job.template_id, job.template_version
                )
                renderers[p.job_id] = renderer_for(session, settings, job, now)
            job = jobs[p.job_id]
            channel = p.chain[p.leg + 1]
            row, _ = compose_row(
                job,
                variants[p.job_id][channel],
                customers[p.customer_id],
                list(p.chain),
                p.leg + 1,
                now,
                today,
                parent_id=p.id,
                parent_key=p.idempotency_key,
                renderer=renderers[p.job_id].with_params(carried.get(p.id, {})),
            )
            if job.status == "cancelled":
                # Accounted for, never sent: a cancelled job starts no new legs.
                row.update(state="cancelled", error_code="E-CANCELLED", completed_at=now)
            rows.append(row)
        _stop_legs(session, [jobs[p.job_id] for p in parents], parents, rows, now)
        # A brand leg over the recipient's daily limit is written failed and chains on.
        purposes = {job_id: job.purpose for job_id, job in jobs.items()}
        brandlimit.gate_rows(session, settings, rows, purposes, now)
        links = take_links(rows)
        inserted = session.execute(
            insert(MESSAGES).returning(T.id, T.parent_id, T.state, sort_by_parameter_order=True),
            rows,
        ).all()
        write_links(session, links)
        session.execute(
            update(MESSAGES)
            .where(T.id == bindparam("pid"))
            .values(next_leg_id=bindparam("nid"), updated_at=now),
            [{"pid": r.parent_id, "nid": r.id} for r in inserted],
            execution_options={"synchronize_session": False},
        )
        created.extend(r.id for r in inserted)
        pending = [r.id for r in inserted if r.state == "failed"]
    return created
