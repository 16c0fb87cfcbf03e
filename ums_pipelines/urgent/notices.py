"""Urgent notices: drafted, dry-run, approved by a designated approver, then sent on the
urgent lane (docs/operations.md "Urgent notices").

A notice is a job of its own (``urgent-<id>``) in the urgent lane, so everything the
send plane does for a job holds for it: outbox rows with stable keys, consent per
channel and purpose (an informational notice needs the info consent where a channel
asks for one; an advertising one the ad consent and the night rule, never bypassed),
deceased and unreachable customers suppressed. Frequency caps do not apply to the
urgent lane (``compliance/frequency.exempt``).

The dry run freezes the list and shows the reach per channel and the predicted time:
the approver approves exactly that list, as four-eyes approvals are tied to a target
count. Approval needs ``urgent.approve`` (an approver for every department, '*'), never
by the drafter; it records the job's approval and moves the job to dispatching in one
transaction, then the rows are written (``enqueue.py``). Every step is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.compliance.access import guard
from ums_pipelines.compliance.approvals import APPROVER_ROLE
from ums_pipelines.compliance.gate import fingerprint
from ums_pipelines.compliance.stages import open_blocks
from ums_pipelines.compliance.workflow import transition
from ums_pipelines.dispatch.ratelimit import SharedRateLimiter
from ums_pipelines.jobs import JobError, register_job
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.compliance import Approval
from ums_pipelines.store.engine import Store, utcnow
from ums_pipelines.store.models import Job, Template
from ums_pipelines.store.urgent import UrgentNotice
from ums_pipelines.targets import extract_targets
from ums_pipelines.urgent.predict import Prediction, predict

__all__ = [
    "UrgentError",
    "approve_notice",
    "current_prediction",
    "draft_notice",
    "dry_run",
    "get_notice",
]


class UrgentError(ValueError):
    """A notice step refused: the field or the state named, with the reason."""


def get_notice(session: Session, notice_id: int) -> UrgentNotice:
    notice = session.get(UrgentNotice, notice_id)
    if notice is None:
        raise KeyError(f"notice_id: no urgent notice {notice_id}")
    return notice


def draft_notice(
    store: Store,
    settings: Settings,
    *,
    title: str,
    template_code: str,
    routes: Mapping[str, Sequence[str]],
    sender_number: str,
    actor: str,
    segment_sql: str | None = None,
    segment_params: Mapping[str, str] | None = None,
) -> UrgentNotice:
    """Register a notice and its urgent-lane job; nothing is frozen or sent yet."""
    if not title.strip():
        raise UrgentError("title: an urgent notice needs a title")
    if not routes:
        raise UrgentError("routes: give at least one channel chain (--chain or --route)")
    if segment_sql is not None and not segment_sql.strip():
        raise UrgentError("segment: the segment SQL is empty")
    now = utcnow()
    guard(store, actor, "urgent.draft", None)  # a refusal is audited on its own
    with store.session() as session:
        template = session.scalars(select(Template).where(Template.code == template_code)).first()
        if template is not None and template.purpose == Purpose.AUTH.value:
            raise UrgentError(
                f"template_code: {template_code!r} is an authentication template;"
                " an urgent notice is informational or advertising"
            )
        notice = UrgentNotice(
            job_id=f"urgent-pending-{now.timestamp()}",
            title=title.strip(),
            template_code=template_code,
            routes={k: list(v) for k, v in routes.items()},
            audience="segment" if segment_sql else "all",
            segment_sql=segment_sql,
            segment_params=dict(segment_params) if segment_params else None,
            status="draft",
            drafted_by=actor,
            drafted_at=now,
        )
        session.add(notice)
        session.flush()
        # The job id starts every wire key: a suffix keeps the keys unique beyond this
        # store (a restored or second store numbers its notices from 1 again).
        notice.job_id = f"urgent-{notice.id}-{uuid.uuid4().hex[:8]}"
        try:
            job, _ = register_job(
                session,
                job_id=notice.job_id,
                name=title.strip(),
                template_code=template_code,
                routes=routes,
                sender_number=sender_number,
                department=settings.urgent_department,
                actor=actor,
                lane=Lane.URGENT,
            )
        except JobError as exc:
            raise UrgentError(str(exc)) from None
        # Out of the dispatch sensor's sight (it takes registered/targeted/approved
        # jobs): an urgent notice is sent by its approval, not by a scheduled run.
        transition(session, job, "pending_approval", actor)
        audit.record(
            session,
            actor,
            "urgent.drafted",
            "urgent_notice",
            str(notice.id),
            job_id=notice.job_id,
            template=template_code,
            audience=notice.audience,
            routes=notice.routes,
        )
        session.flush()
        session.expunge(notice)
    return notice


def current_prediction(
    store: Store, settings: Settings, reach: Mapping[str, int], limiter: SharedRateLimiter | None
) -> Prediction:
    """The prediction at the providers' limits in force now (after any 429 cut)."""
    from ums_pipelines.dispatch.compose import PROVIDERS

    limiter = limiter or SharedRateLimiter(store)
    providers = {PROVIDERS[c] for c, n in reach.items() if n and c in PROVIDERS}
    rates = {p: limiter.effective_rate(p) for p in sorted(providers)}
    return predict(
        reach,
        rates,
        unlimited_rate=settings.urgent_unlimited_rate_per_s,
        start_s=settings.urgent_start_s,
    )


def dry_run(
    store: Store,
    settings: Settings,
    notice_id: int,
    actor: str,
    limiter: SharedRateLimiter | None = None,
) -> dict[str, Any]:
    """Freeze the notice's list and return its reach, suppressions and prediction.

    Again after the freeze: the same list, the prediction at the limits in force now."""
    guard(store, actor, "urgent.dry_run", None)
    with store.session() as session:
        notice = get_notice(session, notice_id)
        if notice.status not in ("draft", "ready"):
            raise UrgentError(f"notice {notice_id} is {notice.status}: its list is sent already")
        job_id, sql, params = notice.job_id, notice.segment_sql, notice.segment_params
    candidates = None
    source: dict[str, Any] | None = None
    if sql is not None:
        from ums_pipelines.segments.query import run_segment

        segment = run_segment(store, settings, sql, params or None)
        candidates, source = segment.ids, segment.source()
    result = extract_targets(
        store, settings, job_id, candidates=candidates, source=source, actor=actor
    )
    prediction = current_prediction(store, settings, result.by_first_channel, limiter)
    with store.session() as session:
        notice = get_notice(session, notice_id)
        job = session.get(Job, job_id)
        assert job is not None
        if job.status == "targeted":  # out of the dispatch sensor's sight again
            transition(session, job, "pending_approval", actor)
        report = {
            "notice_id": notice_id,
            "job_id": job_id,
            "purpose": job.purpose,
            "targets": result.targets,
            "reach": dict(sorted(result.by_first_channel.items())),
            "suppressed": dict(sorted(result.suppressed.items())),
            "admitted": dict(result.admitted),
            "prediction": prediction.as_json(),
            "blocks": [str(b.get("check")) for b in open_blocks(job)],
            "frequency_caps": "bypassed (urgent lane)",
            "night_rule": "applies" if job.purpose == Purpose.ADVERTISING.value else "n/a",
        }
        notice.dry_run = report
        notice.dry_run_at = utcnow()
        notice.predicted_s = prediction.seconds
        notice.status = "ready"
        audit.record(
            session,
            actor,
            "urgent.dry_run",
            "urgent_notice",
            str(notice_id),
            targets=result.targets,
            reach=report["reach"],
            suppressed=report["suppressed"],
            predicted_s=round(prediction.seconds, 3),
        )
    return report


def approve_notice(store: Store, notice_id: int, approver: str) -> tuple[str, datetime]:
    """Approve the dry-run list as it is: the job's approval and its move to dispatching
    commit together. Returns the job id and the approval time."""
    guard(store, approver, "urgent.approve", None)
    with store.session() as session:
        notice = get_notice(session, notice_id)
        if notice.status != "ready":
            raise UrgentError(
                f"notice {notice_id} is {notice.status}: only a dry-run notice is approved"
            )
        job = session.get(Job, notice.job_id)
        assert job is not None
        if approver in (notice.drafted_by, job.created_by):
            raise PermissionError(
                f"notice {notice_id}: {approver} drafted it and cannot approve it"
            )
        blocks = open_blocks(job)
        if blocks:
            names = ", ".join(str(b.get("check")) for b in blocks)
            raise UrgentError(f"notice {notice_id} is blocked by its stage checks: {names}")
        now = utcnow()
        approval = Approval(
            entity="job",
            entity_id=job.job_id,
            content_version=job.template_version,
            target_count=job.target_count,
            fingerprint=fingerprint(job),
            role=APPROVER_ROLE,
            decided_by=approver,
            decision="approved",
            reason=f"urgent notice {notice_id}",
            decided_at=now,
        )
        session.add(approval)
        session.flush()
        transition(session, job, "approved", approver)
        transition(session, job, "dispatching", approver)
        notice.status = "approved"
        notice.approved_by = approver
        notice.approved_at = now
        audit.record(
            session,
            approver,
            "urgent.approved",
            "urgent_notice",
            str(notice_id),
            job_id=job.job_id,
            approval_id=approval.id,
            target_count=job.target_count,
            fingerprint=approval.fingerprint,
            predicted_s=notice.predicted_s,
        )
        return job.job_id, now
