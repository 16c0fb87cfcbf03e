"""The values a real-time request carried, for every leg of its fallback chain.

A request's values (an amount, a balance) render its first leg at intake; a later leg is
rendered when the earlier one fails, from the job alone, so it looks them up here: up
the chain to the first leg, and from it to the request.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.store.models import Message
from ums_pipelines.store.sendplane import SendRequest

__all__ = ["request_values"]

_MAX_LEGS = 32  # far beyond any chain; a cycle can never loop for ever


def request_values(session: Session, message_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Per message id: the values of the request its chain started from (if any)."""
    root: dict[int, int] = {}
    frontier = {m: m for m in message_ids}  # message -> the ancestor reached so far
    for _ in range(_MAX_LEGS):
        if not frontier:
            break
        parents = dict(
            session.execute(
                select(Message.id, Message.parent_id).where(Message.id.in_(set(frontier.values())))
            ).all()
        )
        step: dict[int, int] = {}
        for message, ancestor in frontier.items():
            parent = parents.get(ancestor)
            if parent is None:
                root[message] = ancestor
            else:
                step[message] = parent
        frontier = step
    if not root:
        return {}
    carried = {
        message_id: {str(k): str(v) for k, v in (variables or {}).items()}
        for message_id, variables in session.execute(
            select(SendRequest.message_id, SendRequest.variables).where(
                SendRequest.message_id.in_(set(root.values()))
            )
        ).all()
    }
    return {m: carried[r] for m, r in root.items() if carried.get(r)}
