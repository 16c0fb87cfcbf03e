"""The demo's showcase: one message of every channel and message type, sent in real time.

The bulk job shows volume (SMS/LMS, AlimTalk, FCM push, e-mail to 10,000 customers);
the showcase shows breadth. Three demo customers get, through the real-time intake and
a send agent, an MMS with an image, RCS SMS/LMS/MMS and an RCS template message, a
FriendTalk with an image, a brand message, FCM and APNs pushes, an e-mail with a PDF
attachment, a letter to the print vendor and one international SMS. Each request has a
fixed caller key, so a rerun sends nothing twice.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ums_pipelines.demo_approval import approve_standing_ads
from ums_pipelines.demo_templates import register_showcase_templates
from ums_pipelines.dispatch.agent import AgentConfig, start_agent
from ums_pipelines.dispatch.intake import submit
from ums_pipelines.lanes import CHANNELS, TERMINAL_STATES, Lane
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, as_utc, utcnow
from ums_pipelines.store.models import Customer, Message
from ums_pipelines.store.sendplane import SendRequest

__all__ = [
    "SHOWCASE",
    "SHOWCASE_CALLER",
    "SHOWCASE_COUNTRIES",
    "SHOWCASE_CUSTOMERS",
    "Showcase",
    "ShowcaseOutcome",
    "run_showcase",
    "showcase_complete",
    "showcase_job_ids",
    "write_showcase_customers",
]

SHOWCASE_CALLER = "ums-demo"
# The international SMS goes to the United States: the demo allows that country only.
SHOWCASE_COUNTRIES = "US"
_CUSTOMERS = (
    # id, name, phone, e-mail, push token, platform, branch. Both mobiles have KakaoTalk
    # and an RCS handset in the simulator (its default seed decides that per number).
    ("S0000001", "이서윤", "01024681358", "seoyun@example.com", "f1" * 32, "fcm", "강남지점"),
    ("S0000002", "박지훈", "01035792469", "jihun@example.net", "a2" * 32, "apns", "여의도지점"),
    # Abroad: a US mobile (the customer master keeps it in E.164).
    ("S0000003", "최유진", "+14155552671", "yujin@example.org", "", "", "종로지점"),
)
SHOWCASE_CUSTOMERS = tuple(c[0] for c in _CUSTOMERS)


@dataclass(frozen=True)
class Showcase:
    """One real-time request: its caller key, template, customer and the type it makes."""

    key: str
    template: str
    customer: str
    channel: str
    message_type: str


SHOWCASE = (
    Showcase("mms-1", "demo-mms", "S0000001", "sms", "MMS"),
    Showcase("intl-sms-1", "demo-intl-sms", "S0000003", "sms", "INTL_SMS"),
    Showcase("rcs-sms-1", "demo-rcs-sms", "S0000001", "rcs", "RCS_SMS"),
    Showcase("rcs-lms-1", "demo-rcs-lms", "S0000001", "rcs", "RCS_LMS"),
    Showcase("rcs-mms-1", "demo-rcs-mms", "S0000001", "rcs", "RCS_MMS"),
    Showcase("rcs-template-1", "demo-rcs-template", "S0000002", "rcs", "RCS_TEMPLATE"),
    Showcase("friendtalk-1", "demo-friendtalk", "S0000001", "friendtalk", "FRIENDTALK_IMAGE"),
    Showcase("brand-1", "demo-brand", "S0000002", "brand", "BRAND"),
    Showcase("push-fcm-1", "demo-push", "S0000001", "push", "FCM"),
    Showcase("push-apns-1", "demo-push", "S0000002", "push", "APNS"),
    Showcase("email-1", "demo-email-statement", "S0000001", "email", "EMAIL"),
    Showcase("dm-1", "demo-dm", "S0000002", "dm", "DM"),
)


@dataclass
class ShowcaseOutcome:
    submitted: int  # requests new in this run (0 on a rerun)
    job_ids: list[str]
    terminal: bool
    seconds: float
    # Channel -> when its rows held by the night rule may go (Kakao ads from 20:00 KST).
    held: dict[str, datetime] = field(default_factory=dict)


def write_showcase_customers(path: Path, now: datetime) -> int:
    """The showcase's customers as a change file: every channel consented, for information
    and advertising, push platforms set; loaded by the same customer sync as the rest."""
    consents = [f"consent_{c}_{p}" for c in CHANNELS for p in ("info", "ad")]
    header = ["customer_id", "changed_at", "name", "phone", "email", "push_token"]
    header += ["push_platform", "preferred_channel", "branch", "deceased", *consents]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    when = now.isoformat(timespec="seconds")
    for cid, name, phone, email, token, platform, branch in _CUSTOMERS:
        contact = [name, phone, email, token, platform, "sms", branch, "N"]
        writer.writerow([cid, when, *contact, *(["Y"] * len(consents))])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(out.getvalue(), encoding="utf-8")
    tmp.replace(path)
    return len(_CUSTOMERS)


def showcase_job_ids(store: Store) -> list[str]:
    """The standing jobs the showcase's requests went to (none before its first run)."""
    with store.session() as session:
        found = session.scalars(
            select(SendRequest.job_id).where(SendRequest.caller == SHOWCASE_CALLER).distinct()
        )
        return sorted(found)


def _all_terminal(store: Store, job_ids: list[str]) -> bool:
    with store.session() as session:
        live = session.scalar(
            select(Message.id)
            .where(Message.job_id.in_(job_ids), Message.state.not_in(TERMINAL_STATES))
            .limit(1)
        )
    return live is None


def _held(session: Session, job_ids: list[str]) -> dict[str, tuple[int, datetime]]:
    """Rows waiting for a later moment (the night rule holds them queued with not_before
    at the end of the ban): per channel, how many and the earliest moment."""
    rows = session.execute(
        select(Message.channel, func.count(), func.min(Message.not_before))
        .where(
            Message.job_id.in_(job_ids),
            Message.state == "queued",
            Message.not_before > utcnow(),
        )
        .group_by(Message.channel)
    ).all()
    return {channel: (int(n), as_utc(at)) for channel, n, at in rows if at is not None}


def _settled(store: Store, job_ids: list[str]) -> bool:
    """Every row terminal or waiting for a later moment: nothing more ends by waiting now."""
    # A read snapshot: polled 5 times a second beside the agent's writers.
    with store.reading() as session:
        live = session.scalar(
            select(func.count()).where(
                Message.job_id.in_(job_ids), Message.state.not_in(TERMINAL_STATES)
            )
        )
        return not live or live == sum(n for n, _ in _held(session, job_ids).values())


def showcase_complete(store: Store) -> bool:
    """Every showcase request was made and each of its messages is terminal."""
    with store.session() as session:
        made = session.scalar(
            select(func.count()).where(
                SendRequest.caller == SHOWCASE_CALLER,
                SendRequest.caller_key.in_([s.key for s in SHOWCASE]),
            )
        )
    return made == len(SHOWCASE) and _all_terminal(store, showcase_job_ids(store))


async def _serve(store: Store, settings: Settings, job_ids: list[str], timeout_s: float) -> bool:
    config = AgentConfig(lanes=tuple(Lane), inbox_every_s=0, receipts_every_s=0.2, tick_s=0.1)
    agent, task = start_agent(store, settings, config)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            # Rows the night rule holds go only in the morning: no use waiting for them.
            if task.done() or await asyncio.to_thread(_settled, store, job_ids):
                break
    finally:
        agent.stop()
        await task
    return await asyncio.to_thread(_all_terminal, store, job_ids)


def run_showcase(
    store: Store, settings: Settings, sender: str, timeout_s: float = 60.0
) -> ShowcaseOutcome:
    """Submit every showcase request (a repeat writes nothing) and run a send agent until
    each of their messages, fallback legs included, is delivered or failed."""
    started = time.monotonic()
    with store.session() as session:
        known = set(
            session.scalars(
                select(Customer.customer_id).where(Customer.customer_id.in_(SHOWCASE_CUSTOMERS))
            )
        )
    if len(known) < len(_CUSTOMERS):
        raise RuntimeError("showcase customers are not in the store: run the customer sync")
    register_showcase_templates(store, settings)
    approve_standing_ads(store, settings, sorted({i.template for i in SHOWCASE}), sender)
    new = 0
    for item in SHOWCASE:
        result = submit(
            store,
            settings,
            caller=SHOWCASE_CALLER,
            caller_key=item.key,
            customer_id=item.customer,
            template_code=item.template,
            chain=[item.channel],
            sender_number=sender,
        )
        new += result.created
    job_ids = showcase_job_ids(store)
    terminal = _all_terminal(store, job_ids)
    if not terminal:
        terminal = asyncio.run(_serve(store, settings, job_ids, timeout_s))
    held: dict[str, datetime] = {}
    if not terminal:
        with store.reading() as session:
            held = {c: at for c, (_, at) in _held(session, job_ids).items()}
    return ShowcaseOutcome(new, job_ids, terminal, time.monotonic() - started, held)
