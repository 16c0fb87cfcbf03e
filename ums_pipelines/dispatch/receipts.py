"""Delivery receipts by polling: applied idempotently, failures trigger the next leg."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from ums_pipelines.channels.errors import classify, provider_of
from ums_pipelines.dispatch.outbox import fall_back
from ums_pipelines.lanes import CHANNELS, TERMINAL_STATES
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, retryable, utcnow
from ums_pipelines.store.models import DeliveryEvent, Message, Watermark

__all__ = ["ReceiptResult", "apply_receipts", "apply_with_retry", "poll_receipts"]

PAGE = 5000
ATTEMPTS = 8


@dataclass
class ReceiptResult:
    fetched: int = 0
    applied: int = 0
    delivered: int = 0
    failed: int = 0
    fell_back: int = 0
    unknown: int = 0
    per_channel: dict[str, int] = field(default_factory=dict)


def _parse_time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return utcnow()


def _chains_on(m: Message) -> bool:
    """Whether a failure receipt starts the next leg: not when its code says the next
    leg would be wrong too (channels.errors); a failure without a code always does."""
    if not m.error_code:
        return True
    return classify(provider_of(m.channel, m.message_type), m.error_code).falls_back


def apply_receipts(
    store: Store,
    settings: Settings,
    channel: str,
    receipts: list[dict[str, Any]],
    cursor: int | None,
) -> ReceiptResult:
    """Apply one page and advance the cursor in the same transaction, so a crash re-polls.

    ``cursor=None`` applies answers that are not from the feed (status queries)."""
    result = ReceiptResult(fetched=len(receipts))
    with store.session() as session:
        keys = [r["clientKey"] for r in receipts]
        messages = {
            m.idempotency_key: m
            for m in session.scalars(select(Message).where(Message.idempotency_key.in_(keys)))
        }
        seen: set[tuple[int, str, str]] = set()
        existing = {
            (e.message_id, e.stage, e.status)
            for e in session.scalars(
                select(DeliveryEvent).where(
                    DeliveryEvent.message_id.in_([m.id for m in messages.values()])
                )
            )
        }
        now = utcnow()
        for r in receipts:
            m = messages.get(r["clientKey"])
            if m is None:
                result.unknown += 1
                continue
            stage, status = str(r.get("stage", "handset")), str(r["status"])
            key = (m.id, stage, status)
            if key in existing or key in seen:
                continue
            seen.add(key)
            session.add(
                DeliveryEvent(
                    message_id=m.id,
                    stage=stage,
                    status=status,
                    code=r.get("code"),
                    detail=r.get("reason"),
                    occurred_at=_parse_time(r.get("at")),
                    recorded_at=now,
                )
            )
            result.applied += 1
            if m.state in TERMINAL_STATES:
                continue
            # A receipt proves the provider accepted it, even if the sender died before
            # it could record that (the row is still claimed by the dead sender).
            m.submitted_at = m.submitted_at or now
            m.updated_at = now
            if status == "delivered":
                m.state = "delivered"
                m.completed_at = now
                result.delivered += 1
            elif status == "failed":
                m.state = "failed"
                m.error_code, m.error_reason = r.get("code"), r.get("reason")
                m.completed_at = now
                result.failed += 1
                if _chains_on(m) and fall_back(session, settings, m) is not None:
                    result.fell_back += 1
        mark = session.get(Watermark, f"receipts:{channel}")
        if cursor is None:
            pass
        elif mark is None:
            session.add(Watermark(name=f"receipts:{channel}", value=str(cursor), updated_at=now))
        else:
            mark.value, mark.updated_at = str(cursor), now
    result.per_channel[channel] = result.applied
    return result


async def poll_receipts(
    store: Store,
    settings: Settings,
    client: httpx.AsyncClient,
    channels: tuple[str, ...] = CHANNELS,
) -> ReceiptResult:
    total = ReceiptResult()
    headers = {"Authorization": f"Bearer {settings.gateway_token}"}
    for channel in channels:
        # Store work off the event loop: on SQLite a write session waits for the write
        # lock, and an agent's loop stood still up to 2.7 s behind real-time writers.
        cursor = await asyncio.to_thread(_cursor, store, channel)
        while True:
            response = await client.get(
                f"{settings.gateway_url.rstrip('/')}/receipts/v1",
                params={"channel": channel, "after": cursor, "limit": PAGE},
                headers=headers,
            )
            response.raise_for_status()
            payload = response.json()
            receipts = payload.get("receipts", [])
            nxt = int(payload.get("next", cursor))
            if not receipts and nxt == cursor:
                break
            part = await asyncio.to_thread(
                apply_with_retry, store, settings, channel, receipts, nxt
            )
            for name in ("fetched", "applied", "delivered", "failed", "fell_back", "unknown"):
                setattr(total, name, getattr(total, name) + getattr(part, name))
            total.per_channel[channel] = total.per_channel.get(channel, 0) + part.applied
            cursor = nxt
            if len(receipts) < PAGE:
                break
    return total


def _cursor(store: Store, channel: str) -> int:
    with store.reading() as session:
        mark = session.get(Watermark, f"receipts:{channel}")
        return int(mark.value) if mark else 0


def apply_with_retry(
    store: Store,
    settings: Settings,
    channel: str,
    receipts: list[dict[str, Any]],
    cursor: int | None,
) -> ReceiptResult:
    # Pollers racing on the same page both try to insert the same events; the loser
    # retries and then finds them present. With several dispatchers polling the same
    # feed one retry was not enough (the loser lost again to a third and exited). On
    # PostgreSQL a poller can also be a deadlock's victim against a sender recording the
    # same rows (likely what made a crash-test dispatcher exit): again from the start.
    for attempt in range(ATTEMPTS):
        try:
            return apply_receipts(store, settings, channel, receipts, cursor)
        except (IntegrityError, OperationalError) as exc:
            if attempt == ATTEMPTS - 1 or (
                isinstance(exc, OperationalError) and not retryable(exc)
            ):
                raise
            time.sleep(random.uniform(0, 0.05 * (attempt + 1)))
    raise AssertionError("unreachable")
