"""The ceilings: what a bare client gets out of the same simulator in the same run.

- bulk (SMS relay batch): the bare durable path. The same rows go into the outbox in
  batches (Core executemany), are sent in the same batches by a bare aiohttp client at
  the same concurrency, and the results are written back (executemany UPDATE); no
  target extraction, rendering, policy or orchestration.
- per message (FCM v1): a bare aiohttp client with keep-alive at the same concurrency
  sending the same requests, nothing else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy import bindparam, insert, update

from ums_pipelines.bench.population import SENDER, BenchStore
from ums_pipelines.dispatch.claims import MESSAGES, T
from ums_pipelines.lanes import Lane, message_priority
from ums_pipelines.store.engine import utcnow

__all__ = ["bulk_ceiling", "push_ceiling"]

_HEADERS = {"Authorization": "Bearer sim-token"}


def _rows(job_id: str, indexes: range, owner: str) -> list[dict[str, Any]]:
    now = utcnow()
    lease = now + timedelta(seconds=60)
    return [
        {
            "idempotency_key": f"{job_id}.{i:09d}",
            "job_id": job_id,
            "customer_id": f"B{i:08d}",
            "channel": "sms",
            "message_type": "SMS",
            "provider": "sim-sms",
            "leg": 0,
            "chain": ["sms"],
            "priority": message_priority(Lane.INFORMATIONAL, "sms"),
            "recipient": f"010{i:08d}",
            "sender": SENDER,
            "body": f"[UMS은행] 고객{i}님 강남지점 업무 처리 완료",
            "state": "claimed",
            "lease_owner": owner,
            "lease_expires_at": lease,
            "attempts": 1,
            "created_at": now,
            "updated_at": now,
        }
        for i in indexes
    ]


def _insert(bs: BenchStore, rows: list[dict[str, Any]]) -> None:
    with bs.store.session() as session:
        session.execute(insert(MESSAGES), rows)


def _write_back(bs: BenchStore, results: list[dict[str, Any]]) -> None:
    now = utcnow()
    with bs.store.session() as session:
        session.execute(
            update(MESSAGES)
            .where(T.idempotency_key == bindparam("k"))
            .values(
                state="accepted",
                provider_message_id=bindparam("p"),
                submitted_at=now,
                lease_owner=None,
                lease_expires_at=None,
                updated_at=now,
            ),
            results,
            execution_options={"synchronize_session": False},
        )


async def bulk_ceiling(
    bs: BenchStore, job_id: str, messages: int, batch: int, concurrency: int
) -> float:
    """Seconds for the bare durable path to get ``messages`` accepted and recorded."""
    batches: Iterator[range] = (
        range(start, min(messages, start + batch)) for start in range(0, messages, batch)
    )
    url = f"{bs.settings.gateway_url}/sms/v1/messages/batch"

    async def worker(http: aiohttp.ClientSession) -> None:
        for indexes in batches:
            rows = _rows(job_id, indexes, "ceiling")
            await asyncio.to_thread(_insert, bs, rows)
            body = {
                "messages": [
                    {
                        "clientKey": r["idempotency_key"],
                        "type": "SMS",
                        "from": SENDER,
                        "to": r["recipient"],
                        "subject": None,
                        "text": r["body"],
                    }
                    for r in rows
                ]
            }
            async with http.post(url, json=body, headers=_HEADERS) as response:
                response.raise_for_status()
                payload = await response.json()
            results = [
                {"k": r["clientKey"], "p": r.get("messageId")}
                for r in payload["results"]
                if r.get("status") in ("accepted", "duplicate")
            ]
            await asyncio.to_thread(_write_back, bs, results)

    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return time.monotonic() - started


async def push_ceiling(base_url: str, prefix: str, messages: int, in_flight: int) -> float:
    """Seconds for a bare keep-alive client to send ``messages`` FCM v1 requests."""
    url = f"{base_url}/v1/projects/ums-bank/messages:send"
    numbers = iter(range(messages))  # shared by the workers; one event loop, no lock

    async def worker(http: aiohttp.ClientSession) -> None:
        for i in numbers:
            key = f"{prefix}.{i:09d}"
            body = {
                "message": {
                    "token": f"tok-{i:08d}",
                    "notification": {
                        "title": "거래 안내",
                        "body": f"고객{i}님, 강남지점 업무 처리가 완료되었습니다.",
                    },
                    "data": {"ums_key": key},
                }
            }
            headers = {**_HEADERS, "Idempotency-Key": key}
            async with http.post(url, json=body, headers=headers) as response:
                response.raise_for_status()
                await response.json()

    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(worker(http) for _ in range(in_flight)))
    return time.monotonic() - started
