"""Noticed purges: plan (counts per class, recorded in the audit log), wait, then purge.

A purge runs only for a plan recorded at least ``retention_notice_hours`` earlier, and
uses that plan's cutoffs: what is purged is what was announced, less anything placed
under a legal hold since. Each class is archived before the store changes; a rerun finds
nothing left to do (redacted rows and deleted rows are no longer eligible).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from ums_pipelines.analytics.export import day_path
from ums_pipelines.audit import BASE, record
from ums_pipelines.retention import classes, files
from ums_pipelines.retention.archive import archive_rows, rewrite_atomically
from ums_pipelines.retention.hold import Held, held
from ums_pipelines.retention.policy import cutoff
from ums_pipelines.retention.rows import attrs, chunks, frame_of
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store, as_utc, utcnow
from ums_pipelines.store.models import AuditLog, DeliveryEvent, Message, Watermark

__all__ = ["REDACTED", "NoticeError", "PurgePlan", "PurgeResult", "due_plan", "plan_purge", "purge"]

REDACTED = ""  # what a redacted recipient and body hold (both columns are NOT NULL)
_EVENT_COLS = ("id", "message_id", "stage", "status", "code", "occurred_at", "recorded_at")
# A deleted message's archive: operational facts only, never the customer or the content.
_ROW_COLS = (
    "id", "job_id", "channel", "message_type", "provider", "leg", "parent_id", "priority",
    "state", "error_code", "attempts", "send_round", "created_at", "submitted_at",
    "completed_at",
)  # fmt: skip
_AUDIT_COLS = ("id", "at", "actor", "action", "entity", "entity_id", "detail", "prev_hash", "hash")


class NoticeError(ValueError):
    """No plan has been announced long enough: the purge waits for its notice period."""


@dataclass(frozen=True)
class PurgePlan:
    plan_id: str
    planned_at: datetime
    cutoffs: dict[str, str]  # data class -> ISO UTC time; older rows are due
    counts: dict[str, int]


@dataclass(frozen=True)
class PurgeResult:
    plan_id: str
    counts: dict[str, int] = field(default_factory=dict)
    archived: dict[str, int] = field(default_factory=dict)
    parquet_files: int = 0
    emptied_jobs: tuple[str, ...] = ()


def plan_purge(store: Store, settings: Settings, *, actor: str, dry_run: bool = False) -> PurgePlan:
    """Count what each class would lose now; unless ``dry_run``, record it as the notice."""
    now = utcnow()
    cuts = {
        "message_content": cutoff(settings, settings.retention_message_content_days, now),
        "delivery_events": cutoff(settings, settings.retention_delivery_events_days, now),
        "message_rows": cutoff(settings, settings.retention_message_rows_days, now),
        "audit_log": cutoff(settings, settings.retention_audit_days, now),
        **classes.cutoffs(settings, now),
    }
    with store.session() as session:
        hold = held(session)
        counts = {
            "message_content": len(_content_ids(session, cuts["message_content"], hold)),
            "delivery_events": len(_event_ids(session, cuts["delivery_events"], hold)),
            "message_rows": len(_row_ids(session, cuts["message_rows"], hold)),
            "audit_log": len(_audit_ids(session, cuts["audit_log"], hold)),
            **classes.count_due(session, settings, cuts, hold, now),
        }
        plan = PurgePlan(
            plan_id=uuid.uuid4().hex[:16],
            planned_at=now,
            cutoffs={k: v.isoformat() for k, v in cuts.items()},
            counts=counts,
        )
        if not dry_run:
            record(
                session, actor, "retention.planned", "retention", plan.plan_id,
                cutoffs=plan.cutoffs, counts=counts,
            )  # fmt: skip
    return plan


def due_plan(session: Session, settings: Settings) -> PurgePlan | None:
    """The newest plan past its notice period, unless it has already been carried out."""
    latest = utcnow() - timedelta(hours=settings.retention_notice_hours)
    row = session.scalars(
        select(AuditLog)
        .where(AuditLog.action == "retention.planned", AuditLog.at <= latest)
        .order_by(AuditLog.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    done = session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "retention.purged", AuditLog.entity_id == row.entity_id)
    )
    if done:
        return None
    return PurgePlan(row.entity_id, as_utc(row.at), row.detail["cutoffs"], row.detail["counts"])


def purge(store: Store, settings: Settings, *, actor: str) -> PurgeResult:
    """Carry out the due plan; ``NoticeError`` when none has waited its notice period."""
    with store.session() as session:
        plan = due_plan(session, settings)
    if plan is None:
        raise NoticeError(
            "plan: no purge plan recorded at least "
            f"{settings.retention_notice_hours:g} hours ago is waiting (ums retention plan)"
        )
    cuts = {k: datetime.fromisoformat(v) for k, v in plan.cutoffs.items()}
    counts: dict[str, int] = {}
    archived: dict[str, int] = {}
    with store.session() as session:
        hold = held(session)
        ids = _content_ids(session, cuts["message_content"], hold)
        for part in chunks(ids):
            session.execute(
                update(Message)
                .where(Message.id.in_(part))
                .values(recipient=REDACTED, body=REDACTED, subject=None, html_body=None,
                        payload=None, error_reason=None)
            )  # fmt: skip
        counts["message_content"] = len(ids)
    with store.session() as session:
        ids = _event_ids(session, cuts["delivery_events"], held(session))
        archived["delivery_events"] = _archive_and_delete(session, settings, ids)
        counts["delivery_events"] = len(ids)
    with store.session() as session:
        hold = held(session)
        ids = _row_ids(session, cuts["message_rows"], hold)
        events = _events_of(session, ids)
        archived["delivery_events"] += _archive_and_delete(session, settings, events)
        frame = frame_of(session, attrs(Message, _ROW_COLS), ids)
        aliases = files.aliases_of(session, ids)
        archived["message_rows"] = archive_rows(settings, "message_rows", frame, "created_at")
        jobs = set(frame.get_column("job_id").to_list()) if ids else set()
        for part in chunks(ids):
            session.execute(delete(Message).where(Message.id.in_(part)))
        counts["message_rows"] = len(ids)
        emptied = tuple(sorted(j for j in jobs if not _has_messages(session, j)))
    parquet_files = _pseudonymise_parquet(settings, frame, aliases)
    parquet_files += files.unlink_clicks(settings, aliases)
    counts["job_targets"] = files.remove_target_files(settings, emptied)
    with store.session() as session:
        more, more_archived = classes.purge_classes(
            session, settings, cuts, held(session), plan.planned_at, plan.plan_id
        )
        counts |= more
        archived |= more_archived
    with store.session() as session:
        ids = _audit_ids(session, cuts["audit_log"], held(session))
        frame = frame_of(session, attrs(AuditLog, _AUDIT_COLS), ids)
        if ids:
            frame = frame.with_columns(
                pl.Series(
                    "detail",
                    [
                        json.dumps(d, ensure_ascii=False, sort_keys=True)
                        for d in frame.get_column("detail").to_list()
                    ],
                )
            )
        archived["audit_log"] = archive_rows(settings, "audit_log", frame, "at")
        if ids:
            last = frame.row(-1, named=True)
            _set_base(session, f"{last['id']}:{last['hash']}")
            for part in chunks(ids):
                session.execute(delete(AuditLog).where(AuditLog.id.in_(part)))
        counts["audit_log"] = len(ids)
        record(
            session, actor, "retention.purged", "retention", plan.plan_id,
            counts=counts, archived=archived, parquet_files=parquet_files,
            emptied_jobs=len(emptied),
        )  # fmt: skip
    return PurgeResult(plan.plan_id, counts, archived, parquet_files, emptied)


def _not_held(hold: Held) -> list[Any]:
    return [Message.customer_id.not_in(hold.customers), Message.job_id.not_in(hold.jobs)]


def _content_ids(session: Session, cut: datetime, hold: Held) -> list[int]:
    stmt = select(Message.id).where(
        Message.created_at < cut,
        or_(Message.recipient != REDACTED, Message.body != REDACTED),
        *_not_held(hold),
    )
    return list(session.scalars(stmt.order_by(Message.id)))


def _event_ids(session: Session, cut: datetime, hold: Held) -> list[int]:
    kept = select(Message.id).where(~(Message.customer_id.not_in(hold.customers)
                                      & Message.job_id.not_in(hold.jobs)))  # fmt: skip
    stmt = select(DeliveryEvent.id).where(
        DeliveryEvent.occurred_at < cut, DeliveryEvent.message_id.not_in(kept)
    )
    return list(session.scalars(stmt.order_by(DeliveryEvent.id)))


def _row_ids(session: Session, cut: datetime, hold: Held) -> list[int]:
    stmt = select(Message.id).where(Message.created_at < cut, *_not_held(hold))
    due = set(session.scalars(stmt))
    links: list[tuple[int, int | None]] = []
    for part in chunks(sorted(due)):
        pairs = select(Message.id, Message.parent_id).where(Message.parent_id.in_(part))
        links += [(child, parent) for child, parent in session.execute(pairs)]
    # A kept leg still references its parent: the parent (and its parents) stay too.
    while True:
        blocked = {parent for child, parent in links if child not in due and parent in due}
        if not blocked:
            return sorted(due)
        due -= blocked


def _audit_ids(session: Session, cut: datetime, hold: Held) -> list[int]:
    """The oldest entries up to the first that is too young or names a held customer or
    job: the chain is cut at one point, so what is deleted is always a prefix."""
    names = hold.customers | hold.jobs
    stop_at = session.scalar(
        select(func.min(AuditLog.id)).where(or_(AuditLog.at >= cut, AuditLog.entity_id.in_(names)))
    )
    stmt = select(AuditLog.id).where(AuditLog.at < cut)
    if stop_at is not None:
        stmt = stmt.where(AuditLog.id < stop_at)
    return list(session.scalars(stmt.order_by(AuditLog.id)))


def _events_of(session: Session, message_ids: Sequence[int]) -> list[int]:
    out: list[int] = []
    for part in chunks(message_ids):
        out += session.scalars(select(DeliveryEvent.id).where(DeliveryEvent.message_id.in_(part)))
    return out


def _archive_and_delete(session: Session, settings: Settings, ids: Sequence[int]) -> int:
    frame = frame_of(session, attrs(DeliveryEvent, _EVENT_COLS), ids)
    written = archive_rows(settings, "delivery_events", frame, "occurred_at")
    for part in chunks(ids):
        session.execute(delete(DeliveryEvent).where(DeliveryEvent.id.in_(part)))
    return written


def _pseudonymise_parquet(settings: Settings, frame: pl.DataFrame, aliases: dict[str, str]) -> int:
    """Deleted messages stay in the analytics copy (aggregates unchanged) without the
    customer id, and with a random alias for the idempotency key (a hash of job and
    customer): their clicks, given the same alias, still join to them."""
    if frame.is_empty():
        return 0
    ids = frame.select("id", "created_at").with_columns(
        pl.col("created_at").dt.convert_time_zone(settings.timezone).dt.date().alias("_day")
    )
    files = 0
    for (day,), part in ids.partition_by("_day", as_dict=True).items():
        path = day_path(settings.parquet_dir, "messages", day)
        if not path.exists():
            continue
        data = pl.read_parquet(path)
        gone = pl.col("id").is_in(part.get_column("id").to_list())
        data = data.with_columns(
            pl.when(gone).then(None).otherwise(pl.col("customer_id")).alias("customer_id"),
            pl.col("idempotency_key").replace(aliases),
        )
        rewrite_atomically(data, path)
        files += 1
    return files


def _has_messages(session: Session, job_id: str) -> bool:
    return session.scalar(select(Message.id).where(Message.job_id == job_id).limit(1)) is not None


def _set_base(session: Session, value: str) -> None:
    row = session.get(Watermark, BASE)
    if row is None:
        session.add(Watermark(name=BASE, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
