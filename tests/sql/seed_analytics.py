"""Seed data for the analytics tests: a known mix of outcomes around Korea-time midnights.

Shared by tests/sql, tests/reports and tests/ums_pipelines/analytics (their conftests load
this file by path, since tests/ has no packages). Expected numbers are in the docstring of
``seed_scenario`` so each test can state them exactly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ums_pipelines.store import Store
from ums_pipelines.store.models import DeliveryEvent, Job, Message, Template

KST = ZoneInfo("Asia/Seoul")
D0 = date(2025, 3, 9)
D1 = date(2025, 3, 10)
D2 = date(2025, 3, 11)
JOB_ID = "job-analytics-1"
RECIPIENT = "01098765432"
BODY = "잔액 안내: 고객님 계좌 비밀본문"


def kst(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A Korea-time wall clock as the UTC instant the store keeps."""
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=KST).astimezone(UTC)


def seed_job(session: Session, job_id: str = JOB_ID) -> str:
    at = kst(D0, 8)
    template = Template(
        code=f"T-{job_id}", name="잔액 안내", purpose="informational", created_at=at
    )
    session.add(template)
    session.flush()
    session.add(
        Job(
            job_id=job_id,
            name="analytics seed",
            template_id=template.id,
            template_version=1,
            purpose="informational",
            priority=3,
            routes={},
            sender_number="15880000",
            department="digital",
            status="running",
            created_at=at,
            updated_at=at,
        )
    )
    session.flush()
    return job_id


def add_message(
    session: Session,
    key: str,
    *,
    channel: str,
    message_type: str,
    state: str,
    created_at: datetime,
    submitted_after: float | None = None,
    completed_after: float | None = None,
    parent: Message | None = None,
    error_code: str | None = None,
    updated_at: datetime | None = None,
    job_id: str = JOB_ID,
) -> Message:
    """One outbox row; a ``parent`` makes it that message's next leg (and marks it fell back)."""
    submitted = None if submitted_after is None else created_at + timedelta(seconds=submitted_after)
    completed = None if completed_after is None else created_at + timedelta(seconds=completed_after)
    msg = Message(
        idempotency_key=key,
        job_id=job_id,
        customer_id=f"C-{key}",
        channel=channel,
        message_type=message_type,
        provider=f"{channel}-sim",
        leg=0 if parent is None else parent.leg + 1,
        chain=[channel],
        parent_id=None if parent is None else parent.id,
        priority=3,
        recipient=RECIPIENT,
        sender="15880000",
        subject="비밀 제목",
        body=BODY,
        state=state,
        attempts=1 if submitted else 0,
        error_code=error_code,
        error_reason="상세 사유 " + RECIPIENT if error_code else None,
        created_at=created_at,
        updated_at=updated_at or completed or submitted or created_at,
        submitted_at=submitted,
        completed_at=completed,
    )
    session.add(msg)
    session.flush()
    if parent is not None:
        parent.next_leg_id = msg.id
        session.flush()
    return msg


def add_event(
    session: Session, msg: Message, stage: str, status: str, after: float, code: str | None = None
) -> None:
    at = msg.created_at + timedelta(seconds=after)
    session.add(
        DeliveryEvent(
            message_id=msg.id,
            stage=stage,
            status=status,
            code=code,
            detail=f"recipient {RECIPIENT}",
            occurred_at=at,
            recorded_at=at + timedelta(seconds=1),
        )
    )


def seed_scenario(store: Store) -> dict[str, int]:
    """Seed the scenario and return message ids by label.

    Korea day D1 (2025-03-10), per channel / message type:
      push PUSH      requested 6, sent 5, delivered 3 (3 s, 5 s, 7 s), failed 1, fell back 1,
                     in flight 1 (queued); p6 is at 00:30 KST, i.e. 15:30 UTC on D0
      alimtalk       requested 4, sent 4, delivered 2 (2 s, 10 s; a3 is p3's next leg),
                     fell back 1 (a4), expired 1
      sms SMS        requested 3, sent 2, delivered 1 (4 s), cancelled 1, in flight 1 (accepted)
      sms LMS        requested 1, sent 1, delivered 1 (6 s; s3 is a4's next leg)
    Korea day D0: push 1 delivered (1 s, at 23:59 KST); sms SMS 1 sent and failed.
    Korea day D2: email 1 delivered (2 s) at 00:00 KST, i.e. 15:00 UTC on D1.
    Events: p1 ums/relay/handset (delivered at +3 s); p4 relay failed; s4 carrier accepted
    at 00:10 KST on D2.
    """
    ids: dict[str, int] = {}
    with store.session() as s:
        seed_job(s)
        made: dict[str, Message] = {}
        for label, channel, mtype, state, created, sub, done, parent, error in _SCENARIO:
            m = add_message(
                s,
                label,
                channel=channel,
                message_type=mtype,
                state=state,
                created_at=created,
                submitted_after=sub,
                completed_after=done,
                parent=made[parent] if parent else None,
                error_code=error,
            )
            made[label] = m
            ids[label] = m.id
        add_event(s, made["p1"], "ums", "submitted", 1)
        add_event(s, made["p1"], "relay", "accepted", 2)
        add_event(s, made["p1"], "handset", "delivered", 3)
        add_event(s, made["p4"], "relay", "failed", 2, code="INVALID_TOKEN")
        add_event(s, made["s4"], "carrier", "accepted", 20 * 60)
    return ids


# label, channel, message type, state, created, submitted after s, completed after s,
# parent label (this row is the parent's next leg), error code
_SCENARIO: list[
    tuple[str, str, str, str, datetime, float | None, float | None, str | None, str | None]
] = [
    ("p1", "push", "PUSH", "delivered", kst(D1, 9), 1, 3, None, None),
    ("p2", "push", "PUSH", "delivered", kst(D1, 10), 1, 5, None, None),
    ("p3", "push", "PUSH", "failed", kst(D1, 10, 0, 30), 1, 20, None, "INVALID_TOKEN"),
    ("p4", "push", "PUSH", "failed", kst(D1, 9, 30), 1, 2, None, "INVALID_TOKEN"),
    ("p5", "push", "PUSH", "queued", kst(D1, 11), None, None, None, None),
    ("p6", "push", "PUSH", "delivered", kst(D1, 0, 30), 1, 7, None, None),
    ("a1", "alimtalk", "ALIMTALK", "delivered", kst(D1, 12), 1, 2, None, None),
    ("a2", "alimtalk", "ALIMTALK", "expired", kst(D1, 12, 5), 1, 3600, None, None),
    ("a3", "alimtalk", "ALIMTALK", "delivered", kst(D1, 10, 1), 1, 10, "p3", None),
    ("a4", "alimtalk", "ALIMTALK", "failed", kst(D1, 13), 1, 4, None, "NOT_KAKAO_USER"),
    ("s1", "sms", "SMS", "delivered", kst(D1, 14), 1, 4, None, None),
    ("s2", "sms", "SMS", "cancelled", kst(D1, 14, 5), None, 60, None, None),
    ("s4", "sms", "SMS", "accepted", kst(D1, 23, 50), 2, None, None, None),
    ("s3", "sms", "LMS", "delivered", kst(D1, 13, 1), 1, 6, "a4", None),
    ("p0", "push", "PUSH", "delivered", kst(D0, 23, 59), 0.5, 1, None, None),
    ("s0", "sms", "SMS", "failed", kst(D0, 18), 1, 9, None, "UNREGISTERED_SENDER"),
    ("e1", "email", "EMAIL", "delivered", kst(D2, 0), 1, 2, None, None),
]
