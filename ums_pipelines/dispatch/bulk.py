"""Bulk jobs sent in splits: each chunk of the frozen target list is rendered and written
to the outbox by one sender at a time, already claimed by it, in one transaction.

Writing the rows claimed saves a whole UPDATE per message on the hot path, and loses
nothing: the rows carry the writer's lease, so if it dies they are reaped and sent by
whoever comes next under the same idempotency keys. A chunk whose writer died is taken
over when its lease ends; re-rendering it inserts nothing twice (ON CONFLICT DO NOTHING
on the key) and claims the rows the dead writer left queued.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ums_pipelines.compliance import brandlimit, frequency, night
from ums_pipelines.compliance.gate import require_approved
from ums_pipelines.content.plan import renderer_for, write_links
from ums_pipelines.content.render import take_links
from ums_pipelines.dispatch import lastmile
from ums_pipelines.dispatch.claims import (
    CLAIM_COLUMNS,
    MESSAGES,
    Claimed,
    T,
    claim_where,
    sqlite_param,
    to_claimed,
)
from ums_pipelines.dispatch.compose import compose_row, job_end
from ums_pipelines.dispatch.record import next_legs
from ums_pipelines.jobs import template_variants
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, as_utc, utcnow
from ums_pipelines.store.models import Customer, Job
from ums_pipelines.store.sendplane import JobChunk
from ums_pipelines.targets import read_targets

__all__ = [
    "ChunkWork",
    "chain_failed_as_written",
    "claim_chunk",
    "job_end",
    "materialize_chunk",
    "plan_chunks",
]

_SQLITE_SLICE = 250  # rows per write transaction of a split on SQLite

END_REASONS = {"E-WINDOW": "send window ended", "E-CONTENT-EXPIRED": "content validity ended"}

CHUNKS: Table = JobChunk.__table__  # type: ignore[assignment]
CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]
C = CHUNKS.c


@dataclass(frozen=True)
class ChunkWork:
    chunk_no: int
    first_index: int
    size: int


def chain_failed_as_written(
    session: Session, settings: Settings, keys: list[str], now: datetime
) -> None:
    """Start the next leg of rows written failed (refused at write time: brand limit,
    a screen). Only rows still failed without a next leg: a key another writer (a
    take-over) inserted first is that writer's row, not ours to chain on."""
    if not keys:
        return
    failed_ids = list(
        session.scalars(
            select(T.id).where(
                T.idempotency_key.in_(keys), T.state == "failed", T.next_leg_id.is_(None)
            )
        )
    )
    next_legs(session, settings, failed_ids, now)


def plan_chunks(store: Store, job_id: str) -> int:
    """Split the frozen target list once; a second call keeps the first split."""
    with store.session() as session:
        have = session.scalar(select(func.count()).where(C.job_id == job_id)) or 0
        if have:
            return int(have)
        job = session.get(Job, job_id)
        if job is None or job.target_count is None:
            raise KeyError(f"job_id: {job_id!r} has no frozen target list")
        size = max(1, job.chunk_size or 1000)
        now = utcnow()
        rows = [
            {
                "job_id": job_id,
                "chunk_no": n,
                "first_index": start,
                "size": min(size, job.target_count - start),
                "state": "pending",
                "attempts": 0,
                "updated_at": now,
            }
            for n, start in enumerate(range(0, job.target_count, size))
        ]
        if rows:
            # Several dispatchers started together all find no split: the first to commit
            # wins and the others' identical rows turn into nothing (not an IntegrityError).
            dialect = session.get_bind().dialect.name
            stmt = postgresql.insert(CHUNKS) if dialect == "postgresql" else sqlite.insert(CHUNKS)
            session.execute(stmt.on_conflict_do_nothing(), rows)
        return len(rows)


def claim_chunk(
    session: Session, job_id: str, owner: str, lease: timedelta, now: datetime
) -> ChunkWork | None:
    claimable = or_(C.state == "pending", and_(C.state == "claimed", C.lease_expires_at < now))
    query = select(C.chunk_no).where(C.job_id == job_id, claimable).order_by(C.chunk_no).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = session.execute(
        update(CHUNKS)
        .where(C.job_id == job_id, C.chunk_no == query.scalar_subquery())
        .values(
            state="claimed",
            lease_owner=owner,
            lease_expires_at=now + lease,
            attempts=C.attempts + 1,
            updated_at=now,
        )
        .returning(C.chunk_no, C.first_index, C.size)
    ).first()
    return ChunkWork(*row) if row else None


def _params(rows: list[dict[str, Any]], columns: list[str]) -> list[tuple[Any, ...]]:
    """Driver parameters, converting each distinct value once: a split's rows share
    their timestamps and most chains, and per-value conversion was a tenth of a bulk
    job's CPU."""
    converted: dict[Any, Any] = {}
    keep: list[Any] = []  # keeps converted objects alive, so their ids stay unique

    def param(value: Any) -> Any:
        if value is None or type(value) in (str, int, float, bool):
            return value
        key = tuple(value) if type(value) is list else id(value)
        hit = converted.get(key, _MISSING)
        if hit is _MISSING:
            keep.append(value)
            # The payload dict as JSON text, as SQLAlchemy's JSON type stores it.
            hit = json.dumps(value, ensure_ascii=False) if type(value) is dict else None
            hit = converted[key] = hit if hit is not None else sqlite_param(value)
        return hit

    return [tuple(param(r.get(c, 0)) for c in columns) for r in rows]


_MISSING = object()


def _links_of(links: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not links:
        return []
    keys = {r["idempotency_key"] for r in rows}
    return [link for link in links if link["message_key"] in keys]


def _insert_claimed_sqlite(session: Session, rows: list[dict[str, Any]]) -> list[Claimed]:
    """The same insert on the driver's executemany: SQLAlchemy's per-row parameter
    processing (30 columns, five timestamps) was a third of a bulk job's CPU on SQLite.

    No SELECT back: under the write lock held since BEGIN IMMEDIATE, the rows inserted
    are exactly those whose key was not there, and SQLite numbers them consecutively
    (rowid = max + 1), ending at ``last_insert_rowid()``; ``total_changes()`` confirms
    the count, else the rows are read back."""
    columns = [*rows[0].keys(), "send_round"] if "send_round" not in rows[0] else list(rows[0])
    sql = (
        f"INSERT INTO messages ({', '.join(columns)}) "  # noqa: S608 - names from the model
        f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT (idempotency_key) DO NOTHING"
    )
    keys = [r["idempotency_key"] for r in rows]
    # Rows already there (a take-over) are not ours to hand out, even if this same
    # dispatcher's sweep claimed them meanwhile.
    existing = set(session.scalars(select(T.idempotency_key).where(T.idempotency_key.in_(keys))))
    conn = session.connection()
    before = conn.exec_driver_sql("SELECT total_changes()").scalar_one()
    conn.exec_driver_sql(sql, _params(rows, columns))
    last, after = conn.exec_driver_sql("SELECT last_insert_rowid(), total_changes()").one()
    new = [r for r in rows if r["idempotency_key"] not in existing]
    mine = [r for r in new if r.get("state") == "claimed"]
    if not mine:
        return []
    if after - before != len(new):
        owner = mine[0]["lease_owner"]
        query = select(*CLAIM_COLUMNS).where(
            T.idempotency_key.in_([r["idempotency_key"] for r in mine]),
            T.lease_owner == owner,
            T.state == "claimed",
        )
        return [to_claimed(r) for r in session.execute(query)]
    first = last - len(new) + 1
    ids = {r["idempotency_key"]: first + i for i, r in enumerate(new)}
    return [
        Claimed(
            ids[r["idempotency_key"]],
            r["idempotency_key"],
            r["channel"],
            r["message_type"],
            r["recipient"],
            r["sender"],
            r["provider_template_code"],
            r["subject"],
            r["body"],
            r["html_body"],
            r["attempts"],
            r["priority"],
            r["created_at"],
            r.get("payload"),
            r.get("country"),
        )
        for r in mine
    ]


def _insert_claimed(session: Session, rows: list[dict[str, Any]]) -> list[Claimed]:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite" and rows:
        return _insert_claimed_sqlite(session, rows)
    stmt = postgresql.insert(MESSAGES) if dialect == "postgresql" else sqlite.insert(MESSAGES)
    stmt = stmt.on_conflict_do_nothing(index_elements=["idempotency_key"])
    return [to_claimed(r) for r in session.execute(stmt.returning(*CLAIM_COLUMNS), rows)]


def materialize_chunk(
    store: Store,
    settings: Settings,
    job_id: str,
    chunk: ChunkWork,
    owner: str,
    lease: timedelta,
    targets: pl.DataFrame | None = None,
    now: datetime | None = None,
) -> list[Claimed]:
    """Render one chunk into the outbox, claimed by ``owner``; returns what to send now."""
    now = now or utcnow()
    frame = targets if targets is not None else read_targets(settings, job_id)
    part = frame.slice(chunk.first_index, chunk.size)
    ids: list[str] = part["customer_id"].to_list()
    chains: list[list[str]] = part["chain"].to_list()
    today = now.astimezone(settings.tz).strftime("%Y-%m-%d")
    # Render in a read snapshot, outside SQLite's single write lock: real-time writers
    # and the other senders' results wait for the insert only, not for the templates.
    with store.reading() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise KeyError(f"job_id: no job {job_id!r}")
        # Every writer of a split checks four-eyes; a paused job's rows are written held
        # and a cancelled job's cancelled (neither is sent), so a void that paused a job
        # stops its dispatchers quietly rather than failing them mid-split.
        if job.status != "paused":
            require_approved(session, settings, job)
        variants = template_variants(session, job.template_id, job.template_version)
        renderer = renderer_for(session, settings, job, now)
        customers = {
            c.customer_id: c
            for c in session.execute(select(CUSTOMERS).where(CUSTOMERS.c.customer_id.in_(ids)))
        }
        rendered = [
            compose_row(
                job, variants[chain[0]], customers[cid], chain, 0, now, today, renderer=renderer
            )
            for cid, chain in zip(ids, chains, strict=True)
        ]
        # The night rule: what may not go now is written to wait (one consent query).
        ok = [row for row, error in rendered if error is None]
        night_held = night.hold_split(session, settings, job, ok, now)
        # A stop (withdrawal, opt-out, death) since the job began: its targets are older.
        stop_at = lastmile.last_stop_at(session)
        stops: dict[int, str] = {}
        if stop_at is not None and stop_at >= as_utc(job.created_at):
            stops = lastmile.stopped(
                session,
                (
                    (i, cid, chain[0], job.purpose)
                    for i, (cid, chain) in enumerate(zip(ids, chains, strict=True))
                ),
            )
    with store.session() as session:
        # The job's state as of the write: a pause or cancel may have come meanwhile.
        job = session.get(Job, job_id)
        assert job is not None
        end, end_code = job_end(job)
        ended = end is not None and end <= now
        stopped = job.status in ("cancelled", "stopped") or ended
        if ended and not job.stop_reason:
            job.stop_reason = END_REASONS[end_code]
        # Before the window opens the rows are written queued: claims honour not_before.
        early = job.not_before is not None and as_utc(job.not_before) > now
        rows: list[dict[str, Any]] = []
        failed_keys: list[str] = []
        for i, (row, error) in enumerate(rendered):
            if error is None and stopped:
                # Accounted for, not sent late: every target of a job ends as a row.
                row.update(
                    state="expired" if end_code else "cancelled",
                    error_code=end_code or "E-CANCELLED",
                    error_reason="job stopped before this split was sent",
                    completed_at=now,
                )
            elif error is None and i in stops:
                row.update(
                    state="cancelled",
                    error_code=lastmile.CODE,
                    error_reason=f"stopped before sending: {stops[i]}",
                    completed_at=now,
                )
            elif error is None and job.status == "paused":
                row.update(state="held")  # written, not sent: resume queues it
            elif error is None and (early or row["idempotency_key"] in night_held):
                # Queued: claims honour not_before (the job's, or the end of the ban).
                key = row["idempotency_key"]
                row["not_before"] = night_held.get(key, row["not_before"])
            elif error is None:
                row.update(
                    state="claimed", lease_owner=owner, lease_expires_at=now + lease, attempts=1
                )
            else:
                failed_keys.append(row["idempotency_key"])
            rows.append(row)
        # The lease runs from now, not from when rendering began: a 1,000-row split that
        # took longer than the lease to render (4 dispatchers on 2 cores, 2-s leases) was
        # written already expired, reaped by another dispatcher and sent twice.
        until = utcnow() + lease
        for row in rows:
            if row["state"] == "claimed":
                row["lease_expires_at"] = until
        # RETURNING gives every inserted row: send only those written claimed (not the
        # cancelled, expired, held or unrenderable ones).
        mine = {r["idempotency_key"] for r in rows if r["state"] == "claimed"}
        # On SQLite the split goes in in slices, each its own transaction: a real-time
        # write waits for the one bulk transaction running, so that must be short. A
        # crash between slices is a take-over like any other (rows already written are
        # skipped, the dead writer's claimed ones reaped when their lease ends).
        # A message's short links go in with it: a slice that conflicts on its keys (a
        # take-over) conflicts on its links too, so the written text and links agree.
        step = _SQLITE_SLICE if store.sqlite else len(rows) or 1
        links = take_links(rows)
        # The brand message's daily count goes in with its rows (same transaction); a row
        # over the limit is written failed and chained on below, never sent.
        purposes = {job_id: job.purpose}
        refused = brandlimit.gate_rows(
            session, settings, rows[:step], purposes, now, skip_existing=True
        )
        # Each message counts once towards the customer's frequency caps, with its row.
        frequency.count_rows(session, settings, rows[:step], purposes, now, skip_existing=True)
        mine -= refused
        claimed = [c for c in _insert_claimed(session, rows[:step]) if c.idempotency_key in mine]
        write_links(session, _links_of(links, rows[:step]))
    for start in range(step, len(rows), step):
        with store.session() as session:
            batch = rows[start : start + step]
            more = brandlimit.gate_rows(session, settings, batch, purposes, now, skip_existing=True)
            frequency.count_rows(session, settings, batch, purposes, now, skip_existing=True)
            mine -= more
            refused |= more
            written = _insert_claimed(session, batch)
            claimed += [c for c in written if c.idempotency_key in mine]
            write_links(session, _links_of(links, batch))
    failed_keys += sorted(refused)
    with store.session() as session:
        chain_failed_as_written(session, settings, failed_keys, now)
        night.record_written_holds(session, settings, list(night_held), now)
        if len(claimed) < len(mine) and not stopped and not early:
            # A take-over: the dead writer's rows of this chunk that are still queued.
            leftover = select(T.id).where(
                T.job_id == job_id,
                T.customer_id.in_(ids),
                T.leg == 0,
                T.state == "queued",
                or_(T.not_before.is_(None), T.not_before <= now),
            )
            claimed.extend(claim_where(session, leftover, owner, lease, now))
        session.execute(
            update(CHUNKS)
            .where(C.job_id == job_id, C.chunk_no == chunk.chunk_no, C.lease_owner == owner)
            .values(state="enqueued", lease_owner=None, lease_expires_at=None, updated_at=now)
        )
    return claimed
