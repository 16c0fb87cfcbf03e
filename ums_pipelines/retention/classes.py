"""The data classes around messages: short links and their clicks, MO replies, real-time
requests, quarantined customer rows and the change files on disk, and per-customer
daily contact counts (docs/retention.md, "Policies").

Each class: which rows are due (older than the plan's cutoff, of nobody under a legal
hold), what its archive keeps (operational facts: never the customer, an address, a
target URL or free text), and what the store loses. ``purge.py`` counts them in a plan
and carries them out after the notice, between the message classes and the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

import polars as pl
from sqlalchemy import String, cast, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ums_pipelines.retention.archive import archive_rows
from ums_pipelines.retention.files import change_files_due
from ums_pipelines.retention.hold import Held
from ums_pipelines.retention.policy import cutoff
from ums_pipelines.retention.rows import attrs, chunks, frame_of
from ums_pipelines.settings import Settings
from ums_pipelines.store.compliance import RecipientDay
from ums_pipelines.store.contact import MoMessage
from ums_pipelines.store.content import LinkClick, ShortLink
from ums_pipelines.store.models import CustomerChangeFile, Message, QuarantinedRow
from ums_pipelines.store.sendplane import SendRequest

__all__ = ["CLASS_NAMES", "count_due", "cutoffs", "purge_classes"]

CLASS_NAMES = (
    "short_links",
    "mo_replies",
    "send_request_payloads",
    "send_request_rows",
    "quarantined_rows",
    "change_files",
    "contact_counts",
)
_LINK_COLS = ("code", "job_id", "kind", "position", "created_at", "expires_at")
_CLICK_COLS = ("id", "code", "clicked_at")
_MO_COLS = (
    "id", "provider", "channel", "received_at", "recorded_at", "message_id", "keyword",
    "route", "handled_at",
)  # fmt: skip
_REQUEST_COLS = ("id", "caller", "job_id", "lane", "state", "message_id", "received_at")


def cutoffs(settings: Settings, now: datetime) -> dict[str, datetime]:
    """Each class's cutoff now; request rows go with the message rows they belong to."""
    quarantine = cutoff(settings, settings.retention_quarantine_days, now)
    return {
        "short_links": cutoff(settings, settings.retention_short_links_days, now),
        "mo_replies": cutoff(settings, settings.retention_mo_replies_days, now),
        "send_request_payloads": cutoff(settings, settings.retention_send_requests_days, now),
        "send_request_rows": cutoff(settings, settings.retention_message_rows_days, now),
        "quarantined_rows": quarantine,
        "change_files": quarantine,
        "contact_counts": cutoff(settings, settings.retention_contact_counts_days, now),
    }


def _held_messages(hold: Held) -> Any:
    return select(Message.id).where(
        ~(Message.customer_id.not_in(hold.customers) & Message.job_id.not_in(hold.jobs))
    )


def _links(session: Session, cut: datetime, hold: Held, now: datetime) -> list[str]:
    # A link still live is never taken away from a message in a customer's inbox.
    stmt = select(ShortLink.code).where(
        ShortLink.created_at < cut,
        or_(ShortLink.expires_at.is_(None), ShortLink.expires_at <= now),
        ShortLink.customer_id.not_in(hold.customers),
        ShortLink.job_id.not_in(hold.jobs),
    )
    return list(session.scalars(stmt.order_by(ShortLink.code)))


def _mo(session: Session, cut: datetime, hold: Held) -> list[int]:
    stmt = select(MoMessage.id).where(
        MoMessage.received_at < cut,
        or_(MoMessage.customer_id.is_(None), MoMessage.customer_id.not_in(hold.customers)),
        or_(MoMessage.message_id.is_(None), MoMessage.message_id.not_in(_held_messages(hold))),
    )
    return list(session.scalars(stmt.order_by(MoMessage.id)))


def _requests_not_held(hold: Held) -> list[Any]:
    return [
        SendRequest.customer_id.not_in(hold.customers),
        SendRequest.job_id.not_in(hold.jobs),
    ]


def _payloads(session: Session, cut: datetime, hold: Held) -> list[int]:
    # JSON has no equality in PostgreSQL; its text form is what both backends store.
    stmt = select(SendRequest.id).where(
        SendRequest.received_at < cut,
        or_(cast(SendRequest.variables, String) != "{}", SendRequest.error.is_not(None)),
        *_requests_not_held(hold),
    )
    return list(session.scalars(stmt.order_by(SendRequest.id)))


def _requests(session: Session, cut: datetime, hold: Held) -> list[int]:
    # Only once its message row is gone: the history tells a real-time message by it.
    alive = exists().where(Message.id == SendRequest.message_id)
    stmt = select(SendRequest.id).where(
        SendRequest.received_at < cut, ~alive, *_requests_not_held(hold)
    )
    return list(session.scalars(stmt.order_by(SendRequest.id)))


def _names_held(raw: str, cells: dict[str, Any] | None, customers: frozenset[str]) -> bool:
    # A row that did not parse has only its raw text: any held id in it keeps the row.
    if cells and str(cells.get("customer_id")) in customers:
        return True
    return any(c in raw for c in customers)


def _quarantined(session: Session, cut: datetime, hold: Held) -> list[int]:
    stmt = (
        select(QuarantinedRow.id, QuarantinedRow.raw, QuarantinedRow.cells)
        .join(CustomerChangeFile, CustomerChangeFile.id == QuarantinedRow.file_id)
        .where(CustomerChangeFile.received_at < cut)
        .order_by(QuarantinedRow.id)
    )
    return [
        i for i, raw, cells in session.execute(stmt) if not _names_held(raw, cells, hold.customers)
    ]


def _contact_where(settings: Settings, cut: datetime, hold: Held) -> list[Any]:
    day = cut.astimezone(settings.tz).date()
    return [RecipientDay.day < day, RecipientDay.customer_id.not_in(hold.customers)]


def _contact_count(session: Session, settings: Settings, cut: datetime, hold: Held) -> int:
    stmt = select(func.count()).select_from(RecipientDay)
    return int(session.scalar(stmt.where(*_contact_where(settings, cut, hold))) or 0)


def count_due(
    session: Session, settings: Settings, cuts: dict[str, datetime], hold: Held, now: datetime
) -> dict[str, int]:
    """What each class would lose now (the plan's counts)."""
    due: dict[str, Callable[[datetime], list[Any]]] = {
        "short_links": lambda cut: _links(session, cut, hold, now),
        "mo_replies": lambda cut: _mo(session, cut, hold),
        "send_request_payloads": lambda cut: _payloads(session, cut, hold),
        "send_request_rows": lambda cut: _requests(session, cut, hold),
        "quarantined_rows": lambda cut: _quarantined(session, cut, hold),
        "change_files": lambda cut: change_files_due(settings, cut, hold),
    }
    counts = {name: len(due[name](cut)) for name, cut in cuts.items() if name in due}
    if (cut := cuts.get("contact_counts")) is not None:
        counts["contact_counts"] = _contact_count(session, settings, cut, hold)
    return counts


def purge_classes(
    session: Session,
    settings: Settings,
    cuts: dict[str, datetime],
    hold: Held,
    now: datetime,
    plan_id: str,
) -> tuple[dict[str, int], dict[str, int]]:
    """Archive, then redact or delete, every class the plan has a cutoff for (a plan
    recorded before a class existed leaves that class for the next one)."""
    counts: dict[str, int] = {}
    archived: dict[str, int] = {}
    if (cut := cuts.get("short_links")) is not None:
        codes = _links(session, cut, hold, now)
        clicks: list[int] = []
        for part in chunks(codes):
            clicks += session.scalars(select(LinkClick.id).where(LinkClick.code.in_(part)))
        frame = frame_of(session, attrs(LinkClick, _CLICK_COLS), clicks)
        archived["link_clicks"] = archive_rows(settings, "link_clicks", frame, "clicked_at")
        names = ["id", *_LINK_COLS[1:]]
        frame = frame_of(session, attrs(ShortLink, _LINK_COLS), codes, names)
        archived["short_links"] = archive_rows(settings, "short_links", frame, "created_at")
        for part in chunks(clicks):
            session.execute(delete(LinkClick).where(LinkClick.id.in_(part)))
        for part in chunks(codes):
            session.execute(delete(ShortLink).where(ShortLink.code.in_(part)))
        counts["short_links"], counts["link_clicks"] = len(codes), len(clicks)
    if (cut := cuts.get("mo_replies")) is not None:
        ids = _mo(session, cut, hold)
        frame = frame_of(session, attrs(MoMessage, _MO_COLS), ids)
        archived["mo_replies"] = archive_rows(settings, "mo_replies", frame, "received_at")
        for part in chunks(ids):
            session.execute(delete(MoMessage).where(MoMessage.id.in_(part)))
        counts["mo_replies"] = len(ids)
    if (cut := cuts.get("send_request_payloads")) is not None:
        ids = _payloads(session, cut, hold)
        for part in chunks(ids):
            session.execute(
                update(SendRequest).where(SendRequest.id.in_(part)).values(variables={}, error=None)
            )
        counts["send_request_payloads"] = len(ids)
    if (cut := cuts.get("send_request_rows")) is not None:
        ids = _requests(session, cut, hold)
        frame = frame_of(session, attrs(SendRequest, _REQUEST_COLS), ids)
        archived["send_request_rows"] = archive_rows(
            settings, "send_requests", frame, "received_at"
        )
        for part in chunks(ids):
            session.execute(delete(SendRequest).where(SendRequest.id.in_(part)))
        counts["send_request_rows"] = len(ids)
    if (cut := cuts.get("quarantined_rows")) is not None:
        ids = _quarantined(session, cut, hold)
        cols = [*attrs(QuarantinedRow, ("id", "file_id", "line_no", "field", "replayed_at"))]
        frame = frame_of(
            session,
            [*cols, CustomerChangeFile.received_at],
            ids,
            join=(CustomerChangeFile, CustomerChangeFile.id == QuarantinedRow.file_id),
        )
        archived["quarantined_rows"] = archive_rows(
            settings, "quarantined_rows", frame, "received_at"
        )
        for part in chunks(ids):
            session.execute(delete(QuarantinedRow).where(QuarantinedRow.id.in_(part)))
        counts["quarantined_rows"] = len(ids)
    if (cut := cuts.get("change_files")) is not None:
        files = change_files_due(settings, cut, hold)
        for path in files:
            path.unlink(missing_ok=True)
        counts["change_files"] = len(files)
    if (cut := cuts.get("contact_counts")) is not None:
        counts["contact_counts"] = _purge_contact_days(session, settings, cut, hold, plan_id)
    return counts, archived


def _purge_contact_days(
    session: Session, settings: Settings, cut: datetime, hold: Held, plan_id: str
) -> int:
    """Rows of per-customer counts go; the archive keeps their sums per day, channel and
    purpose without the customers (named by the plan, so a later purge of a day adds)."""
    where = _contact_where(settings, cut, hold)
    R = RecipientDay
    sums = session.execute(
        select(R.day, R.channel, R.purpose, func.sum(R.count), func.count())
        .where(*where)
        .group_by(R.day, R.channel, R.purpose)
    ).all()
    rows = [
        {"id": f"{plan_id}:{day}:{channel}:{purpose}",
         "at": datetime.combine(day, time.min, tzinfo=settings.tz).astimezone(UTC),
         "channel": channel, "purpose": purpose, "messages": int(total), "customers": n}
        for day, channel, purpose, total, n in sums
    ]  # fmt: skip
    if rows:
        archive_rows(settings, "contact_counts", pl.DataFrame(rows), "at")
    deleted = sum(int(n) for *_, n in sums)
    session.execute(delete(R).where(*where))
    return deleted
