"""Short links and their clicks in the operational store (SQLite and PostgreSQL).

A link belongs to one URL of one outbox row, named by the row's idempotency key (known
before the row has an id) and the URL's position in it. Rendering the same message
again (a split taken over after a crash) writes no second link: the insert does nothing
on (message_key, position). A collision of the random code itself, never expected at
~70 bits, is not swallowed: it would point one customer's link at another's target.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ums_pipelines.shortlinks.codes import is_code, new_code
from ums_pipelines.store.content import LinkClick, ShortLink
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Message

__all__ = [
    "KINDS",
    "ClickResponse",
    "insert_links",
    "link_row",
    "record_click",
    "resolve",
    "responses",
    "short_url",
]

KINDS = ("link", "feedback")

LINKS: Table = ShortLink.__table__  # type: ignore[assignment]
CLICKS: Table = LinkClick.__table__  # type: ignore[assignment]
_UA_MAX = int(CLICKS.c.user_agent.type.length)  # type: ignore[attr-defined]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _bounded(field: str, value: str, column: str) -> str:
    limit: int | None = getattr(LINKS.c[column].type, "length", None)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field}: must be a non-empty string")
    if limit is not None and len(value) > limit:
        raise ValueError(f"{field}: {len(value)} characters, at most {limit}")
    return value


def _target(url: str) -> str:
    # The service redirects to whatever is stored: only plain web addresses, so a link
    # can never become a javascript: or data: URL, nor a header split by CR/LF.
    if not isinstance(url, str) or _CONTROL.search(url):
        raise ValueError("target_url: must be an http(s) URL without control characters")
    # A space comes from a customer's value in a templated target ("강남 지점"): encoded,
    # as a browser would, rather than failing that customer.
    url = url.strip().replace(" ", "%20")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"target_url: must be an absolute http(s) URL, got scheme {parts.scheme!r}"
        )
    return url


def link_row(
    *,
    message_key: str,
    position: int,
    kind: str,
    job_id: str,
    customer_id: str,
    target_url: str,
    now: datetime,
    expires_at: datetime | None,
) -> dict[str, Any]:
    """One short_links row with a fresh random code, checked field by field."""
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise ValueError(f"position: must be an integer >= 0, got {position!r}")
    if now.tzinfo is None:
        raise ValueError("now: must be timezone-aware")
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        raise ValueError("expires_at: must be timezone-aware and later than now")
    return {
        "code": new_code(),
        "message_key": _bounded("message_key", message_key, "message_key"),
        "position": position,
        "kind": kind,
        "job_id": _bounded("job_id", job_id, "job_id"),
        "customer_id": _bounded("customer_id", customer_id, "customer_id"),
        "target_url": _target(target_url),
        "created_at": now,
        "expires_at": expires_at,
    }


def insert_links(session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert links in one executemany; a (message_key, position) already stored keeps
    its first code and the new row is dropped. No row is read back."""
    batch = list(rows)
    if not batch:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(LINKS) if dialect == "postgresql" else sqlite.insert(LINKS)
    stmt = insert.on_conflict_do_nothing(index_elements=["message_key", "position"])
    session.execute(stmt, batch)


def short_url(base_url: str, code: str) -> str:
    """The address written into a message: the service's base plus the code."""
    if not is_code(code):
        raise ValueError("code: not a short-link code")
    return f"{base_url.rstrip('/')}/{code}"


def resolve(session: Session, code: str, now: datetime) -> ShortLink | None:
    """The link behind ``code``, or None when it is malformed, unknown or expired."""
    if not is_code(code):
        return None
    link = session.get(ShortLink, code)
    if link is None or (link.expires_at is not None and as_utc(link.expires_at) <= now):
        return None
    return link


def record_click(session: Session, code: str, user_agent: str | None, now: datetime) -> None:
    """One click as the service saw it; the user agent is cut to the column's size."""
    agent = _CONTROL.sub("", user_agent)[:_UA_MAX] if user_agent else None
    session.execute(CLICKS.insert().values(code=code, clicked_at=now, user_agent=agent or None))


@dataclass(frozen=True)
class ClickResponse:
    """A click as response data: who, on which message (and leg), on which link.

    The message columns are None when the outbox row is not there (any more)."""

    clicked_at: datetime
    customer_id: str
    job_id: str
    message_key: str
    message_id: int | None
    channel: str | None
    message_type: str | None
    leg: int | None
    kind: str
    position: int
    target_url: str
    user_agent: str | None


def responses(
    session: Session,
    *,
    customer_id: str | None = None,
    job_id: str | None = None,
    message_key: str | None = None,
) -> list[ClickResponse]:
    """Every click on the links of a customer, a job or a message, oldest first."""
    if customer_id is None and job_id is None and message_key is None:
        raise ValueError("responses: give customer_id, job_id or message_key (at least one)")
    L, C, M = LINKS.c, CLICKS.c, Message.__table__.c
    query = (
        select(
            C.clicked_at,
            L.customer_id,
            L.job_id,
            L.message_key,
            M.id,
            M.channel,
            M.message_type,
            M.leg,
            L.kind,
            L.position,
            L.target_url,
            C.user_agent,
        )
        .select_from(CLICKS)
        .join(LINKS, L.code == C.code)
        .join(Message.__table__, M.idempotency_key == L.message_key, isouter=True)
        .order_by(C.clicked_at, C.id)
    )
    if customer_id is not None:
        query = query.where(L.customer_id == customer_id)
    if job_id is not None:
        query = query.where(L.job_id == job_id)
    if message_key is not None:
        query = query.where(L.message_key == message_key)
    return [
        ClickResponse(
            clicked_at=as_utc(row.clicked_at),
            customer_id=row.customer_id,
            job_id=row.job_id,
            message_key=row.message_key,
            message_id=row.id,
            channel=row.channel,
            message_type=row.message_type,
            leg=row.leg,
            kind=row.kind,
            position=row.position,
            target_url=row.target_url,
            user_agent=row.user_agent,
        )
        for row in session.execute(query)
    ]
