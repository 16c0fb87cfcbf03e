"""The outbox: writing a job's rows once, claiming them with leases, recording outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from ums_pipelines.dispatch.compose import compose
from ums_pipelines.jobs import template_variants
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, utcnow
from ums_pipelines.store.models import Customer, DeliveryEvent, Job, Message
from ums_pipelines.targets import read_targets

__all__ = [
    "Claimed",
    "EnqueueResult",
    "SendOutcome",
    "claim",
    "enqueue_job",
    "fall_back",
    "record_outcomes",
]

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class EnqueueResult:
    created: int
    already_queued: int
    render_failed: int


@dataclass(frozen=True)
class Claimed:
    """A snapshot of a claimed row: senders work on these, not on live ORM objects."""

    id: int
    idempotency_key: str
    channel: str
    message_type: str
    recipient: str
    sender: str | None
    provider_template_code: str | None
    subject: str | None
    body: str
    html_body: str | None
    attempts: int


@dataclass(frozen=True)
class SendOutcome:
    message_id: int
    status: str  # accepted | rejected | retry
    provider_message_id: str | None = None
    code: str | None = None
    reason: str | None = None
    fall_back: bool = True
    retry_after: float | None = None


def _today(settings: Settings, now: datetime) -> str:
    return now.astimezone(settings.tz).strftime("%Y-%m-%d")


def enqueue_job(store: Store, settings: Settings, job_id: str, chunk: int = 2000) -> EnqueueResult:
    """Write the first leg of every target once; rows already in the outbox are left alone."""
    targets = read_targets(settings, job_id)
    created = existing_count = failed = 0
    ids = targets["customer_id"].to_list()
    chains = targets["chain"].to_list()
    for start in range(0, len(ids), chunk):
        part_ids, part_chains = ids[start : start + chunk], chains[start : start + chunk]
        with store.session() as session:
            job = session.get(Job, job_id)
            assert job is not None
            variants = template_variants(session, job.template_id, job.template_version)
            have = set(
                session.scalars(
                    select(Message.customer_id).where(
                        Message.job_id == job_id,
                        Message.leg == 0,
                        Message.customer_id.in_(part_ids),
                    )
                )
            )
            customers = {
                c.customer_id: c
                for c in session.scalars(select(Customer).where(Customer.customer_id.in_(part_ids)))
            }
            now = utcnow()
            today = _today(settings, now)
            rows = []
            for cid, chain in zip(part_ids, part_chains, strict=True):
                if cid in have:
                    existing_count += 1
                    continue
                composed = compose(job, variants[chain[0]], customers[cid], chain, 0, now, today)
                failed += composed.error is not None
                rows.append(composed.message)
            session.add_all(rows)
            session.flush()
            for row in rows:
                if row.state == "failed":
                    fall_back(session, settings, row)
            created += len(rows)
            if job.status in ("registered", "targeted"):
                job.status = "dispatching"
                job.updated_at = now
    return EnqueueResult(created, existing_count, failed)


def claim(
    session: Session,
    channel: str,
    owner: str,
    limit: int,
    lease: timedelta,
    job_id: str | None = None,
) -> list[Claimed]:
    """Claim queued rows, highest lane first; expired leases of crashed senders are reclaimable."""
    now = utcnow()
    claimable = or_(
        and_(
            Message.state == "queued",
            or_(Message.not_before.is_(None), Message.not_before <= now),
        ),
        and_(Message.state == "claimed", Message.lease_expires_at < now),
    )
    query = select(Message).where(Message.channel == channel, claimable)
    if job_id is not None:
        query = query.where(Message.job_id == job_id)
    query = query.order_by(Message.priority, Message.id).limit(limit)
    rows = session.scalars(query.with_for_update(skip_locked=True)).all()
    claimed = []
    for m in rows:
        m.state = "claimed"
        m.lease_owner = owner
        m.lease_expires_at = now + lease
        m.attempts += 1
        m.updated_at = now
        claimed.append(
            Claimed(
                m.id,
                m.idempotency_key,
                m.channel,
                m.message_type,
                m.recipient,
                m.sender,
                m.provider_template_code,
                m.subject,
                m.body,
                m.html_body,
                m.attempts,
            )
        )
    return claimed


def _event(message: Message, stage: str, status: str, code: str | None, detail: str | None) -> None:
    now = utcnow()
    message.updated_at = now
    session = Session.object_session(message)
    assert session is not None
    session.add(
        DeliveryEvent(
            message_id=message.id,
            stage=stage,
            status=status,
            code=code,
            detail=detail,
            occurred_at=now,
            recorded_at=now,
        )
    )


def fall_back(session: Session, settings: Settings, message: Message) -> Message | None:
    """Create the next leg of a failed message; None when the chain is exhausted."""
    if message.next_leg_id is not None or message.leg + 1 >= len(message.chain):
        return None
    job = session.get(Job, message.job_id)
    customer = session.get(Customer, message.customer_id)
    assert job is not None and customer is not None
    variants = template_variants(session, job.template_id, job.template_version)
    leg = message.leg + 1
    now = utcnow()
    composed = compose(
        job,
        variants[message.chain[leg]],
        customer,
        message.chain,
        leg,
        now,
        _today(settings, now),
        parent_id=message.id,
    )
    session.add(composed.message)
    session.flush()
    message.next_leg_id = composed.message.id
    if composed.error is not None:
        # A leg that cannot even be rendered (e.g. an emoji on SMS) is a failed row, and
        # the chain goes on past it: stopping here would silently lose the customer.
        fall_back(session, settings, composed.message)
    return composed.message


def record_outcomes(
    session: Session, settings: Settings, owner: str, outcomes: Iterable[SendOutcome]
) -> None:
    """Record what the provider answered; only the lease holder may record (no double writes)."""
    by_id = {o.message_id: o for o in outcomes}
    if not by_id:
        return
    rows: Sequence[Message] = session.scalars(
        select(Message).where(Message.id.in_(by_id), Message.lease_owner == owner)
    ).all()
    now = utcnow()
    for m in rows:
        if m.state != "claimed":
            continue
        o = by_id[m.id]
        m.lease_owner = None
        m.lease_expires_at = None
        if o.status == "accepted":
            m.state = "accepted"
            m.provider_message_id = o.provider_message_id
            m.submitted_at = m.submitted_at or now
            _event(m, "relay", "accepted", o.code, None)
        elif o.status == "retry" and m.attempts < MAX_ATTEMPTS:
            m.state = "queued"
            backoff = o.retry_after if o.retry_after is not None else 2 ** min(m.attempts, 6)
            m.not_before = now + timedelta(seconds=backoff)
            m.error_code, m.error_reason = o.code, o.reason
            _event(m, "relay", "retry", o.code, o.reason)
        else:
            m.state = "failed"
            m.error_code, m.error_reason = o.code, o.reason
            m.completed_at = now
            _event(m, "relay", "rejected", o.code, o.reason)
            if o.fall_back:
                fall_back(session, settings, m)


def release_stale(session: Session, job_id: str) -> int:
    """Used by tests and recovery: leases of a known-dead owner become claimable at once."""
    result = session.execute(
        update(Message)
        .where(Message.job_id == job_id, Message.state == "claimed")
        .values(lease_expires_at=utcnow() - timedelta(seconds=1))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
