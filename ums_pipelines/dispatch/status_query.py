"""Asking the provider about accepted messages whose final receipt never came.

Receipts get lost, and a message whose retries ran out on timeouts may or may not be
at the provider (``E-UNCONFIRMED``): an "unknown" answer fails it and its chain goes on.
A row accepted longer than a grace period ago without a final
receipt is looked up at the provider's status endpoint, in batches of keys: a final
answer (delivered/failed) is applied exactly like a receipt (the same idempotent path,
fallback included); "pending" keeps waiting and the row is asked again one grace
period later (its ``updated_at`` marks the last question).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from ums_pipelines.dispatch.claims import MESSAGES, T
from ums_pipelines.dispatch.receipts import apply_with_retry
from ums_pipelines.dispatch.record import UNCONFIRMED, next_legs
from ums_pipelines.lanes import CHANNELS
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, utcnow

__all__ = ["BATCH", "StatusQueryResult", "query_overdue"]

BATCH = 1000  # the simulator's and the relays' limit of keys per status request


@dataclass
class StatusQueryResult:
    asked: int = 0
    delivered: int = 0
    failed: int = 0
    pending: int = 0
    unknown: int = 0


def _overdue(store: Store, job_id: str | None, channel: str, grace: timedelta) -> list[str]:
    cutoff = utcnow() - grace
    query = (
        select(T.idempotency_key)
        .where(T.state == "accepted", T.channel == channel, T.updated_at < cutoff)
        .order_by(T.id)
        .limit(BATCH)
    )
    if job_id is not None:
        query = query.where(T.job_id == job_id)
    with store.session() as session:
        return list(session.scalars(query))


def _touch(store: Store, keys: list[str]) -> None:
    if keys:
        with store.session() as session:
            session.execute(
                update(MESSAGES)
                .where(T.idempotency_key.in_(keys), T.state == "accepted")
                .values(updated_at=utcnow())
            )


async def query_overdue(
    store: Store,
    settings: Settings,
    client: httpx.AsyncClient,
    job_id: str | None = None,
    grace: timedelta = timedelta(seconds=30),
    max_batches: int = 5,
    channels: tuple[str, ...] = CHANNELS,
) -> StatusQueryResult:
    """Resolve accepted rows past ``grace`` without a final receipt; returns what was found."""
    result = StatusQueryResult()
    headers = {"Authorization": f"Bearer {settings.gateway_token}"}
    base = settings.gateway_url.rstrip("/")
    for channel in channels:
        for _ in range(max_batches):
            keys = await asyncio.to_thread(_overdue, store, job_id, channel, grace)
            if not keys:
                break
            try:
                response = await client.post(
                    f"{base}/status/v1/{channel}", json={"clientKeys": keys}, headers=headers
                )
            except httpx.HTTPError:
                return result  # the provider is unreachable: ask again next round
            if response.status_code != 200:
                return result
            answers: list[dict[str, Any]] = response.json().get("results", [])
            final = [
                {
                    "clientKey": a["clientKey"],
                    "status": a["status"],
                    "stage": "handset",
                    "code": a.get("code"),
                    "reason": a.get("reason"),
                    "at": a.get("doneAt"),
                }
                for a in answers
                if a.get("status") in ("delivered", "failed")
            ]
            unknown = [a["clientKey"] for a in answers if a.get("status") == "unknown"]
            if unknown:
                await asyncio.to_thread(_give_up, store, settings, unknown)
            waiting = [
                a["clientKey"] for a in answers if a.get("status") not in ("delivered", "failed")
            ]
            result.asked += len(keys)
            result.delivered += sum(a["status"] == "delivered" for a in final)
            result.failed += sum(a["status"] == "failed" for a in final)
            result.pending += sum(a.get("status") == "pending" for a in answers)
            result.unknown += sum(a.get("status") == "unknown" for a in answers)
            if final:
                await asyncio.to_thread(_apply, store, settings, channel, final)
            await asyncio.to_thread(_touch, store, waiting)
            if len(keys) < BATCH:
                break
    return result


def _apply(store: Store, settings: Settings, channel: str, final: list[dict[str, Any]]) -> None:
    # Another dispatcher may apply the same answers at the same moment: retried.
    apply_with_retry(store, settings, channel, final, None)


def _give_up(store: Store, settings: Settings, keys: list[str]) -> int:
    """Rows whose retries ran out and that the provider never accepted: failed now, and
    their chain goes on (the only moment that is safe: the provider has no copy)."""
    now = utcnow()
    with store.session() as session:
        ids = list(
            session.scalars(
                update(MESSAGES)
                .where(
                    T.idempotency_key.in_(keys),
                    T.state == "accepted",
                    T.error_code == UNCONFIRMED,
                    T.submitted_at.is_(None),
                )
                .values(state="failed", completed_at=now, updated_at=now)
                .returning(T.id)
            )
        )
        next_legs(session, settings, ids, now)
    return len(ids)
