"""The outbox: writing a job's rows once, claiming them with leases, recording outcomes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ums_pipelines.compliance import brandlimit, frequency
from ums_pipelines.compliance.approvals import check_job
from ums_pipelines.compliance.workflow import transition
from ums_pipelines.content.plan import renderer_for, write_links
from ums_pipelines.dispatch.claims import Claimed, claim_rows, reap_expired
from ums_pipelines.dispatch.compose import compose
from ums_pipelines.dispatch.record import MAX_ATTEMPTS, RecordStats, SendOutcome, record_results
from ums_pipelines.dispatch.requestvalues import request_values
from ums_pipelines.jobs import template_variants
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, utcnow
from ums_pipelines.store.models import Customer, DeliveryEvent, Job, Message
from ums_pipelines.targets import read_targets

__all__ = [
    "MAX_ATTEMPTS",
    "Claimed",
    "EnqueueResult",
    "SendOutcome",
    "claim",
    "enqueue_job",
    "fall_back",
    "record_outcomes",
]


@dataclass(frozen=True)
class EnqueueResult:
    created: int
    already_queued: int
    render_failed: int


def _today(settings: Settings, now: datetime) -> str:
    return now.astimezone(settings.tz).strftime("%Y-%m-%d")


def enqueue_job(store: Store, settings: Settings, job_id: str, chunk: int = 2000) -> EnqueueResult:
    """Write the first leg of every target once; rows already in the outbox are left alone."""
    check_job(store, settings, job_id)  # four-eyes: nothing is written awaiting approval
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
            plan = renderer_for(session, settings, job, now)
            rows = []
            links: list[dict[str, Any]] = []
            for cid, chain in zip(part_ids, part_chains, strict=True):
                if cid in have:
                    existing_count += 1
                    continue
                composed = compose(
                    job, variants[chain[0]], customers[cid], chain, 0, now, today, None, None, plan
                )
                failed += composed.error is not None
                rows.append(composed.message)
                links.extend(composed.links)
            brandlimit.gate_messages(session, settings, rows, {job_id: job.purpose}, now)
            frequency.count_messages(session, settings, rows, {job_id: job.purpose}, now)
            session.add_all(rows)
            session.flush()
            write_links(session, links)
            for row in rows:
                if row.state == "failed":
                    fall_back(session, settings, row)
            created += len(rows)
            if job.status in ("registered", "targeted", "approved"):
                transition(session, job, "dispatching", "ums")
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
    reap_expired(session, now, job_id)
    return claim_rows(session, channel, owner, limit, lease, now, job_id=job_id)


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
    standing = job.status == "standing"
    carried = request_values(session, [message.id]).get(message.id, {}) if standing else {}
    composed = compose(
        job,
        variants[message.chain[leg]],
        customer,
        message.chain,
        leg,
        now,
        _today(settings, now),
        parent_id=message.id,
        parent_key=message.idempotency_key,
        renderer=renderer_for(session, settings, job, now).with_params(carried),
    )
    write_links(session, composed.links)
    if job.status == "cancelled" and composed.error is None:
        # Accounted for, never sent: a cancelled job starts no new legs.
        composed.message.state, composed.message.error_code = "cancelled", "E-CANCELLED"
        composed.message.completed_at = now
    brandlimit.gate_messages(session, settings, [composed.message], {job.job_id: job.purpose}, now)
    session.add(composed.message)
    session.flush()
    message.next_leg_id = composed.message.id
    if composed.message.state == "failed":
        # A leg that cannot even be rendered (e.g. an emoji on SMS), or a brand message
        # over the day's limit, is a failed row, and the chain goes on past it: stopping
        # here would silently lose the customer.
        fall_back(session, settings, composed.message)
    return composed.message


def record_outcomes(
    session: Session, settings: Settings, owner: str, outcomes: Iterable[SendOutcome]
) -> RecordStats:
    """Record what the provider answered; only the lease holder may record (no double writes)."""
    return record_results(session, settings, owner, list(outcomes), utcnow())


def release_stale(session: Session, job_id: str) -> int:
    """Used by tests and recovery: leases of a known-dead owner become claimable at once."""
    result = session.execute(
        update(Message)
        .where(Message.job_id == job_id, Message.state == "claimed")
        .values(lease_expires_at=utcnow() - timedelta(seconds=1))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
