"""``ums demo``: the whole pipeline end to end on the embedded defaults.

Synthetic customers arrive as a change file, one informational job goes out over
SMS/LMS, AlimTalk (falling back to SMS), PUSH and e-mail through the gateway simulator,
a showcase (``demo_showcase``) sends one message of every other channel and type in real
time, and the result is reconciled with the simulator's ledger. Safe to run again: a
second run on the same UMS_HOME sends nothing twice and says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from ums_pipelines.demo_data import write_customer_file
from ums_pipelines.gateway_sim.records import TYPES_BY_CHANNEL
from ums_pipelines.jobs import (
    ChannelVariant,
    register_job,
    register_sender_number,
    register_template,
)
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store
from ums_pipelines.store.models import Customer, Job, Message

__all__ = [
    "DEMO_AUTHOR",
    "DEMO_JOB_ID",
    "ChannelRow",
    "DemoOutcome",
    "ProgressWatch",
    "channel_table",
    "ensure_customers",
    "ensure_showcase_customers",
    "job_done",
    "ledger_by_type",
    "ledger_summary",
    "register_demo_job",
    "watch_progress",
]

DEMO_JOB_ID = "demo-welcome"
DEMO_SENDER = "15881234"
DEMO_AUTHOR = "demo-author"  # registers the job; its department head approves it
# The table's rows, in this order: every message type a provider takes.
TYPES = (
    "SMS",
    "LMS",
    "MMS",
    "INTL_SMS",
    "RCS_SMS",
    "RCS_LMS",
    "RCS_MMS",
    "RCS_TEMPLATE",
    "ALIMTALK",
    "FRIENDTALK_TEXT",
    "FRIENDTALK_IMAGE",
    "FRIENDTALK_WIDE",
    "BRAND",
    "FCM",
    "APNS",
    "EMAIL",
    "DM",
)
# The simulator's channel of each type (FCM and APNs share push, MMS the SMS relay).
LEDGER_CHANNEL = {t: c for c, types in TYPES_BY_CHANNEL.items() for t in types if t in TYPES}

VARIANTS = [
    ChannelVariant(
        "sms",
        # Near the 90-byte SMS limit on purpose: longer branch names become LMS.
        "[UMS은행] {{ name }} 고객님, {{ branch }}에서 요청하신 업무가 모두 "
        "처리되었습니다. 문의 1588-1234",
    ),
    ChannelVariant(
        "alimtalk",
        "[UMS은행] 거래 처리 안내\n{{ name }}님, {{ branch }}에서 요청하신 업무가 "
        "처리되었습니다.\n\n■ 처리일: {{ today }}\n\n본 메시지는 거래 고객님께 발송되는 "
        "정보성 안내입니다.",
        provider_template_code="UMS_TX_NOTICE_01",
    ),
    ChannelVariant(
        "push", "{{ name }}님, {{ branch }} 업무 처리가 완료되었습니다.", "거래 처리 안내"
    ),
    ChannelVariant(
        "email",
        "{{ name }}님, 안녕하세요.\n{{ branch }}에서 요청하신 업무가 {{ today }}에 "
        "처리되었습니다.\nUMS은행 드림",
        "[UMS은행] {{ name }}님, 거래 처리 안내",
        "<p>{{ name }}님, 안녕하세요.</p><p><b>{{ branch }}</b>에서 요청하신 업무가 "
        "{{ today }}에 처리되었습니다.</p><p>UMS은행 드림</p>",
    ),
]
ROUTES = {
    "sms": ["sms"],
    "alimtalk": ["alimtalk", "sms"],
    "push": ["push"],
    "email": ["email"],
}


@dataclass
class ChannelRow:
    message_type: str
    requested: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    fell_back: int = 0
    ledger_accepted: int = 0
    ledger_delivered: int = 0

    @property
    def reconciled(self) -> bool:
        return self.sent == self.ledger_accepted and self.delivered == self.ledger_delivered


@dataclass
class DemoOutcome:
    job_created: bool
    customers_generated: int
    rows: list[ChannelRow] = field(default_factory=list)
    ledger_before: dict[str, Any] = field(default_factory=dict)
    ledger_after: dict[str, Any] = field(default_factory=dict)
    report_path: str | None = None
    terminal: bool = False

    @property
    def ledger_unchanged(self) -> bool:
        return self.ledger_before == self.ledger_after

    @property
    def reconciled(self) -> bool:
        return all(r.reconciled for r in self.rows)


def register_demo_job(store: Store) -> bool:
    with store.session() as session:
        register_sender_number(session, DEMO_SENDER, "UMS은행 고객센터", actor="demo")
        register_template(
            session,
            code="demo-tx-notice",
            name="거래 처리 안내",
            purpose=Purpose.INFORMATIONAL,
            variables=["name", "branch", "today"],
            variants=VARIANTS,
            actor="demo",
        )
        _, created = register_job(
            session,
            job_id=DEMO_JOB_ID,
            name="데모 거래 처리 안내",
            template_code="demo-tx-notice",
            routes=ROUTES,
            sender_number=DEMO_SENDER,
            department="digital-channel",
            actor=DEMO_AUTHOR,
            lane=Lane.INFORMATIONAL,
        )
    return created


def ledger_summary(base_url: str, key_prefix: str) -> dict[str, Any]:
    response = httpx.get(
        f"{base_url}/ledger/v1/summary", params={"keyPrefix": key_prefix}, timeout=30
    )
    response.raise_for_status()
    channels: dict[str, Any] = response.json()["channels"]
    return channels


def ledger_by_type(base_url: str, key_prefix: str | Sequence[str]) -> dict[str, dict[str, int]]:
    """Count the simulator's own record of the jobs (one key prefix each) per message
    type (accepted, delivered)."""
    counts: dict[str, dict[str, int]] = {}
    prefixes = [key_prefix] if isinstance(key_prefix, str) else list(key_prefix)
    with httpx.Client(timeout=30) as client:
        for prefix in prefixes:
            after = 0
            while True:
                response = client.get(
                    f"{base_url}/ledger/v1/messages",
                    params={"keyPrefix": prefix, "after": after, "limit": 5000},
                )
                response.raise_for_status()
                payload = response.json()
                items = payload["messages"] if isinstance(payload, dict) else payload
                if not items:
                    break
                for item in items:
                    c = counts.setdefault(str(item["type"]), {"accepted": 0, "delivered": 0})
                    c["accepted"] += 1
                    c["delivered"] += item.get("outcome") == "delivered"
                after = int(items[-1]["seq"])
    return counts


def channel_table(
    store: Store, job_id: str | Sequence[str], ledger: dict[str, dict[str, int]]
) -> list[ChannelRow]:
    job_ids = [job_id] if isinstance(job_id, str) else list(job_id)
    rows = {t: ChannelRow(t) for t in TYPES}
    submitted = Message.submitted_at.is_not(None)
    fell_back = Message.next_leg_id.is_not(None)
    with store.session() as session:
        query = (
            select(Message.message_type, Message.state, submitted, fell_back, func.count())
            .where(Message.job_id.in_(job_ids))
            .group_by(Message.message_type, Message.state, submitted, fell_back)
        )
        for mtype, state, was_sent, did_fall_back, n in session.execute(query):
            row = rows.setdefault(mtype, ChannelRow(mtype))
            row.requested += n
            row.sent += n if was_sent else 0
            row.delivered += n if state == "delivered" else 0
            row.failed += n if state == "failed" else 0
            row.fell_back += n if did_fall_back else 0
    for mtype, counts in ledger.items():
        row = rows.setdefault(mtype, ChannelRow(mtype))
        row.ledger_accepted = counts["accepted"]
        row.ledger_delivered = counts["delivered"]
    return [r for r in rows.values() if r.requested or r.ledger_accepted]


def ensure_customers(store: Store, settings: Settings, count: int) -> int:
    """Drop a synthetic change file only into an empty store; a rerun reuses the customers."""
    with store.session() as session:
        existing = session.scalar(select(func.count()).select_from(Customer)) or 0
    if existing:
        return 0
    settings.customer_inbox.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(settings.tz).strftime("%Y%m%d%H%M%S")
    return write_customer_file(settings.customer_inbox / f"demo-customers-{stamp}.csv", count)


def ensure_showcase_customers(store: Store, settings: Settings) -> int:
    """Drop the showcase's few customers as a change file unless they are in the store
    (also into a store an older demo filled)."""
    # Not at import: the showcase brings in Polars, which takes SIGINT from every CLI command.
    from ums_pipelines.demo_showcase import SHOWCASE_CUSTOMERS, write_showcase_customers

    with store.session() as session:
        present = session.scalar(
            select(func.count()).where(Customer.customer_id.in_(SHOWCASE_CUSTOMERS))
        )
    if present == len(SHOWCASE_CUSTOMERS):
        return 0
    settings.customer_inbox.mkdir(parents=True, exist_ok=True)
    now = datetime.now(settings.tz)
    path = settings.customer_inbox / f"demo-showcase-{now.strftime('%Y%m%d%H%M%S')}.csv"
    return write_showcase_customers(path, now)


class ProgressWatch:
    """Reports terminal/total from the store while a dispatch runs inside Dagster."""

    def __init__(self, store: Store, job_id: str, update: Callable[[int, int], None]) -> None:
        self.store, self.job_id, self.update = store, job_id, update
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="demo-progress")
        self._thread.start()

    def _tick(self) -> None:
        terminal = Message.state.in_(("delivered", "failed", "expired", "cancelled"))
        with self.store.session() as session:
            rows = session.execute(
                select(terminal, func.count())
                .where(Message.job_id == self.job_id)
                .group_by(terminal)
            ).all()
        counts = {bool(k): int(n) for k, n in rows}
        self.update(counts.get(True, 0), sum(counts.values()))

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self._tick()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._tick()


def watch_progress(store: Store, job_id: str, update: Callable[[int, int], None]) -> ProgressWatch:
    return ProgressWatch(store, job_id, update)


def job_done(store: Store, job_id: str) -> bool:
    with store.session() as session:
        job = session.get(Job, job_id)
        return job is not None and job.status == "done"
