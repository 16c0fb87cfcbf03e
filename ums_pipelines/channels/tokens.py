"""Retiring push tokens the provider called invalid (FCM UNREGISTERED, APNs BadDeviceToken...).

One set-based UPDATE per recorded batch: the token is cleared only on the customer the
message went to and only while it still is the token that message used, so a token the
app registered since is kept. One audit entry per batch says which customers lost
their token and why; tokens appear masked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Table, exists, select, update
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.dispatch.claims import T
from ums_pipelines.store.models import Customer

__all__ = ["mask_token", "retire_push_tokens"]

CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]
C = CUSTOMERS.c


def mask_token(token: str) -> str:
    """Enough of a token to tell two apart in an audit entry, not enough to use it."""
    return f"{token[:4]}***({len(token)})" if len(token) > 8 else "***"


def retire_push_tokens(
    session: Session, codes: Mapping[int, str | None], now: datetime, actor: str = "ums"
) -> int:
    """Clear the push tokens of the messages in ``codes`` (message id -> provider code).

    Returns how many customers lost their token."""
    ids: Sequence[int] = list(codes)
    if not ids:
        return 0
    used = exists().where(
        T.id.in_(ids),
        T.channel == "push",
        T.customer_id == C.customer_id,
        T.recipient == C.push_token,
    )
    sent = {
        row.customer_id: (row.recipient, codes[row.id])
        for row in session.execute(
            select(T.id, T.customer_id, T.recipient).where(T.id.in_(ids), T.channel == "push")
        )
    }
    retired = [
        cid
        for (cid,) in session.execute(
            update(CUSTOMERS)
            .where(used)
            .values(push_token=None, updated_at=now)
            .returning(C.customer_id),
            execution_options={"synchronize_session": False},
        )
    ]
    if retired:
        retired.sort()
        audit.record(
            session,
            actor,
            "customer.push_token_retired",
            "customer",
            retired[0] if len(retired) == 1 else f"{len(retired)} customers",
            customers=retired,
            tokens=[mask_token(sent[cid][0]) for cid in retired],
            codes=sorted({str(sent[cid][1]) for cid in retired}),
            reason="the push provider reported the token invalid",
        )
    return len(retired)
