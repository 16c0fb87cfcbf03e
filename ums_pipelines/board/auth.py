"""Who may look at the screen board and its /metrics: staff with a personal token.

An admin issues a token to a staff user (``ums board token issue USER``); the token is
shown once and only its SHA-256 is stored. A request carries it as HTTP Basic (user id
and token: what a wall screen's browser asks once and then sends with every fetch) or
as ``Authorization: Bearer`` (a Prometheus scrape). Every request checks, in the store,
that the token is not revoked, that Basic's user is the token's, and that the user
still holds a role ('board.view': any role, for every department '*'): a missing or
wrong credential is 401, a valid one without the role 403. There is no other way in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.compliance.access import allowed
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.monitoring import BoardToken

__all__ = [
    "VIEW_ACTION",
    "Verdict",
    "check_request",
    "issue_token",
    "list_tokens",
    "revoke_token",
    "token_hash",
]

VIEW_ACTION = "board.view"
_TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user_id: str, label: str, issued_by: str) -> tuple[int, str]:
    """A new token for ``user_id`` (who must hold a role); returns (id, token)."""
    if not user_id or not user_id.strip():
        raise ValueError("user: empty")
    if not label or not label.strip() or len(label) > 100:
        raise ValueError("label: 1-100 characters naming the screen or scraper")
    if user_id == issued_by:
        raise ValueError(f"user: {issued_by} cannot issue a board token to themselves")
    if not allowed(session, user_id, VIEW_ACTION, None):
        raise ValueError(
            f"user: {user_id} holds no role for every department ('*'); grant one first"
        )
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    row = BoardToken(
        user_id=user_id,
        token_sha256=token_hash(token),
        label=label.strip(),
        issued_by=issued_by,
        issued_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session, issued_by, "board.token_issued", "board_token", str(row.id), user=user_id,
        label=row.label,
    )  # fmt: skip
    return row.id, token


def revoke_token(session: Session, token_id: int, actor: str) -> BoardToken:
    row = session.get(BoardToken, token_id)
    if row is None:
        raise ValueError(f"token: no board token {token_id}")
    if row.revoked_at is not None:
        raise ValueError(f"token: {token_id} was revoked already")
    session.execute(
        update(BoardToken)
        .where(BoardToken.id == token_id)
        .values(revoked_at=utcnow(), revoked_by=actor)
    )
    audit.record(session, actor, "board.token_revoked", "board_token", str(token_id))
    session.refresh(row)
    return row


def list_tokens(session: Session) -> list[BoardToken]:
    return list(session.scalars(select(BoardToken).order_by(BoardToken.id)))


@dataclass(frozen=True)
class Verdict:
    status: int  # 200 allowed, 401 no or bad credential, 403 no role
    user: str | None
    reason: str


def _credential(header: str | None) -> tuple[str | None, str] | None:
    """(user or None, token) from an Authorization header; None if absent or malformed."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return None, value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, token = decoded.partition(":")
        if sep and user and token:
            return user, token
    return None


def _same(given: str, stored: str) -> bool:
    # Bytes: compare_digest refuses str with non-ASCII characters (a Hangul user name).
    return secrets.compare_digest(given.encode(), stored.encode())


def check_request(session: Session, header: str | None) -> Verdict:
    """Whether the Authorization ``header`` opens the board (see the module doc)."""
    given = _credential(header)
    if given is None:
        return Verdict(401, None, "a board token is required (HTTP Basic or Bearer)")
    user, token = given
    row = session.scalars(
        select(BoardToken).where(
            BoardToken.token_sha256 == token_hash(token), BoardToken.revoked_at.is_(None)
        )
    ).first()
    # Constant-time is moot for a hash lookup; what matters is not telling which part
    # was wrong (an unknown user and a wrong token answer alike).
    if row is None or (user is not None and not _same(user, row.user_id)):
        return Verdict(401, None, "unknown or revoked board token")
    if not allowed(session, row.user_id, VIEW_ACTION, None):
        return Verdict(403, row.user_id, f"{row.user_id} holds no role for every department")
    return Verdict(200, row.user_id, "ok")
