"""Writing an approved urgent notice's first legs to the outbox, queued on the urgent lane.

Unlike a bulk split, which its writer claims for itself, every batch here is written
queued and committed at once, so any running sender serving the urgent lane (the
notice's own senders, every ``ums agent``) claims it the moment it lands, ahead of every
lower lane (claims order by priority). Writes run under ``store.urgent()``: on SQLite
they go before a bulk job's writers at the write lock. Each row has its stable key, so
a second enqueue (a crash, a retry) inserts nothing twice.

The rules are the bulk job's: the advertising night rule holds rows (``not_before``), a
brand message over its day's limit is a failed row, an unrenderable row is failed and
chained on; withdrawals and deaths since the freeze are stopped at send time by every
sender's last-mile screen.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from ums_pipelines.compliance import brandlimit, night
from ums_pipelines.content.plan import renderer_for, write_links
from ums_pipelines.content.render import take_links
from ums_pipelines.dispatch.bulk import chain_failed_as_written
from ums_pipelines.dispatch.claims import MESSAGES, T, sqlite_param
from ums_pipelines.dispatch.compose import compose_row
from ums_pipelines.jobs import template_variants
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, urgent, utcnow
from ums_pipelines.store.models import Customer, Job
from ums_pipelines.targets import read_targets

__all__ = ["enqueue_in_child", "enqueue_rows"]

CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]


def _value(value: Any) -> Any:
    if value is None or type(value) in (str, int, float, bool):
        return value
    if type(value) is dict:  # the payload, as SQLAlchemy's JSON type stores it
        return json.dumps(value, ensure_ascii=False)
    return sqlite_param(value)


def _sqlite_rows(rows: list[dict[str, Any]]) -> tuple[str, list[tuple[Any, ...]]]:
    """The insert and its driver parameters, built before the write lock is taken:
    SQLAlchemy's per-row processing inside the transaction held SQLite's one write lock
    longer than the insert itself."""
    columns = list(rows[0]) if "send_round" in rows[0] else [*rows[0], "send_round"]
    sql = (
        f"INSERT INTO messages ({', '.join(columns)}) "  # noqa: S608 - names from the model
        f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT (idempotency_key) DO NOTHING"
    )
    return sql, [tuple(_value(r.get(c, 0)) for c in columns) for r in rows]


def _insert(
    session: Session, rows: list[dict[str, Any]], prepared: tuple[str, list[Any]] | None
) -> None:
    if session.get_bind().dialect.name == "postgresql":
        stmt = postgresql.insert(MESSAGES)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["idempotency_key"]), rows)
        return
    sql, params = prepared or _sqlite_rows(rows)
    session.connection().exec_driver_sql(sql, params)


def _render(
    store: Store, settings: Settings, job_id: str, ids: list[str], chains: list[list[str]]
) -> tuple[list[dict[str, Any]], list[str], dict[str, datetime], str]:
    """One batch rendered in a read snapshot, outside the write lock."""
    now = utcnow()
    today = now.astimezone(settings.tz).strftime("%Y-%m-%d")
    with store.reading() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise KeyError(f"job_id: no job {job_id!r}")
        variants = template_variants(session, job.template_id, job.template_version)
        renderer = renderer_for(session, settings, job, now)
        customers = {
            c.customer_id: c
            for c in session.execute(select(CUSTOMERS).where(CUSTOMERS.c.customer_id.in_(ids)))
        }
        rows: list[dict[str, Any]] = []
        failed: list[str] = []
        for cid, chain in zip(ids, chains, strict=True):
            row, error = compose_row(
                job, variants[chain[0]], customers[cid], chain, 0, now, today, renderer=renderer
            )
            if error is not None:
                failed.append(row["idempotency_key"])
            rows.append(row)
        sendable = [r for r in rows if r["state"] == "queued"]
        held = night.hold_split(session, settings, job, sendable, now)
        for row in rows:
            if row["idempotency_key"] in held:
                row["not_before"] = held[row["idempotency_key"]]
        return rows, failed, held, job.purpose


def enqueue_rows(
    store: Store,
    settings: Settings,
    job_id: str,
    *,
    batch: int | None = None,
    progress: Callable[[int], None] | None = None,
    first: int = 0,
    last: int | None = None,
    rows_per_s: float | None = None,
) -> int:
    """Write the first leg of targets ``first`` to ``last`` (default: all), ``batch``
    rows a transaction, at most ``rows_per_s`` (None: as fast as it can); returns how
    many rows were written (rows already there are skipped, not counted).

    The pace keeps the writer ahead of the senders without being a writer that begins
    again the moment it commits: on SQLite such a writer starved the senders' own
    short writes (rate-limit tokens, results) for seconds at a time."""
    size = batch or settings.urgent_write_batch
    began = time.monotonic()
    frame = read_targets(settings, job_id).slice(first, None if last is None else last - first)
    ids: list[str] = frame["customer_id"].to_list()
    chains: list[list[str]] = frame["chain"].to_list()
    written = 0
    for start in range(0, len(ids), size):
        part_ids, part_chains = ids[start : start + size], chains[start : start + size]
        rows, failed, held, purpose = _render(store, settings, job_id, part_ids, part_chains)
        now = utcnow()
        links = take_links(rows)
        prepared = _sqlite_rows(rows) if store.sqlite and rows else None
        with urgent(), store.session() as session:
            keys = [r["idempotency_key"] for r in rows]
            known = select(T.idempotency_key).where(T.idempotency_key.in_(keys))
            have = set(session.scalars(known))
            if have:  # a second writer of the same notice: only what is missing
                rows = [r for r in rows if r["idempotency_key"] not in have]
                links = [x for x in links if x["message_key"] not in have]
                prepared = None
            # Neither capped nor counted towards a cap: the urgent lane is exempt
            # (compliance/frequency.exempt), so a notice uses up no customer's allowance.
            refused = brandlimit.gate_rows(session, settings, rows, {job_id: purpose}, now)
            if rows:
                _insert(session, rows, None if refused else prepared)
                write_links(session, links)
            failed_keys = [k for k in (*failed, *sorted(refused)) if k not in have]
            chain_failed_as_written(session, settings, failed_keys, now)
            night.record_written_holds(session, settings, [k for k in held if k not in have], now)
        written += len(rows)
        if progress is not None:
            progress(written)
        if rows_per_s:
            time.sleep(max(0.0, began + (start + size) / rows_per_s - time.monotonic()))
    return written


def enqueue_in_child(settings: Settings, job_id: str, first: int, rows_per_s: float) -> int:
    """``enqueue_rows`` from ``first`` on, in a process of its own (its own store): the
    rendering then takes no time from the senders under the parent's GIL."""
    store = Store(settings.store_url)
    try:
        return enqueue_rows(store, settings, job_id, first=first, rows_per_s=rows_per_s)
    finally:
        store.dispose()
