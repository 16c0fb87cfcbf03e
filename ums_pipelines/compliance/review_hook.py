"""The hook to the bank's internal review-and-approval system: a job's approval asked for
out there, its decision brought back in as a four-eyes decision UMS's gate honours.

Out: ``request_review`` records a ``review_requests`` row for the job as it is now (its
gate fingerprint) and sends the request: a JSON file written atomically into
``UMS_REVIEW_OUTBOX_DIR``, or an HMAC-signed HTTP POST to ``UMS_REVIEW_URL``
(``review_http``). The request carries the job's id, department, purpose, content version,
the content's text per channel with its variables unfilled (so no customer's data by
construction), the target count, the fingerprint and our ``request_ref``.

In: a decision file in ``UMS_REVIEW_INBOX_DIR`` (``ingest_decisions``, also a Dagster
sensor) or a signed callback (``review_http.create_app``, ``ums review-hook serve``); both
go through ``apply_decision``:

- the job changed since the request (its fingerprint differs): the request is voided,
  nothing is approved, and the void is audited; ask again;
- an approval by the job's author is refused (four-eyes), and so is one by a person
  without the approver role in UMS for the job's department, unless
  ``UMS_REVIEW_TRUST_EXTERNAL`` is true. A bank maps its review system's approvers to UMS
  staff (``ums approval grant USER approver --department D``); trusting the external
  system instead means its own approver list is the only four-eyes control;
- an approval is an ``approvals`` row (role approver, decided by the external approver's
  id), so the gate treats it as any other; a rejection needs a code of the managed list
  (``compliance.reasons``) and voids the job's approvals.

A refused decision leaves the request pending (someone entitled may still decide).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.compliance.approvals import (
    APPROVER_ROLE,
    ApprovalError,
    approve_job,
    reject_job,
    void_approvals,
)
from ums_pipelines.compliance.gate import fingerprint, valid_approval
from ums_pipelines.compliance.reasons import check_reason
from ums_pipelines.compliance.review_files import outbox_dir, write_atomic
from ums_pipelines.jobs import template_variants
from ums_pipelines.settings import Settings
from ums_pipelines.store.compliance import Approval, ReviewRequest
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Job

__all__ = [
    "DECISIONS",
    "Decision",
    "Outcome",
    "ReviewHookError",
    "Sender",
    "apply_decision",
    "request_payload",
    "request_review",
    "requests_of",
]

DECISIONS = ("approved", "rejected")
_CLOSED = ("cancelled", "stopped", "done")
# Sends a request to the review system; returns its reference for it, if it gives one.
Sender = Callable[[Settings, Mapping[str, Any]], "str | None"]
_FIELDS = ("request_ref", "decision", "decided_by", "reason_code", "reason", "external_ref")


class ReviewHookError(ValueError):
    """A request that cannot be made or a decision that cannot be read; names the field."""


def _text(data: Mapping[str, Any], name: str, limit: int, required: bool) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ReviewHookError(f"{name}: missing")
        return None
    if not isinstance(value, str):
        raise ReviewHookError(f"{name}: must be a string, not {type(value).__name__}")
    if len(value.strip()) > limit:
        raise ReviewHookError(f"{name}: longer than {limit} characters")
    return value.strip()


@dataclass(frozen=True)
class Decision:
    """A decision of the review system on one of our requests."""

    request_ref: str
    decision: str
    decided_by: str
    reason_code: str | None = None
    reason: str | None = None
    external_ref: str | None = None

    @classmethod
    def parse(cls, data: object) -> Decision:
        """From the file's or the callback's JSON object; ReviewHookError names the field."""
        if not isinstance(data, dict):
            raise ReviewHookError("decision: must be a JSON object")
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ReviewHookError(f"{unknown[0]}: not a field of a decision ({', '.join(_FIELDS)})")
        decision = _text(data, "decision", 16, True)
        if decision not in DECISIONS:
            raise ReviewHookError(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
        return cls(
            request_ref=str(_text(data, "request_ref", 64, True)),
            decision=decision,
            decided_by=str(_text(data, "decided_by", 64, True)),
            reason_code=_text(data, "reason_code", 32, False),
            reason=_text(data, "reason", 2000, False),
            external_ref=_text(data, "external_ref", 128, False),
        )


@dataclass(frozen=True)
class Outcome:
    """What a decision did: approved, rejected, void (the job changed) or refused."""

    request_ref: str
    status: str
    message: str

    @property
    def applied(self) -> bool:
        return self.status != "refused"


def _job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise KeyError(f"job_id: no job {job_id!r}")
    return job


def request_payload(session: Session, job: Job, request_ref: str, actor: str) -> dict[str, Any]:
    """What the review system is sent: the job's approved facts, never a customer's data."""
    variants = template_variants(session, job.template_id, job.template_version)
    sample = {
        channel: {"subject": v.subject, "body": v.body} for channel, v in sorted(variants.items())
    }
    return {
        "request_ref": request_ref,
        "entity": "job",
        "job_id": job.job_id,
        "name": job.name,
        "department": job.department,
        "purpose": job.purpose,
        "author": job.created_by,
        "requested_by": actor,
        "content_version": job.template_version,
        "content_sample": sample,
        "routes": job.routes,
        "target_count": job.target_count,
        "not_before": job.not_before.isoformat() if job.not_before else None,
        "must_end_by": job.expires_at.isoformat() if job.expires_at else None,
        "fingerprint": fingerprint(job),
    }


def request_review(
    session: Session,
    settings: Settings,
    entity: str,
    entity_id: str,
    actor: str,
    *,
    send: Sender | None = None,
) -> ReviewRequest:
    """Ask the review system to decide on the job as it is now. A pending request for the
    same facts is returned as it is, not sent twice. ``send`` replaces the HTTP call."""
    if not actor or not actor.strip():
        raise ReviewHookError("actor: who asks must be named")
    if entity != "job":
        raise ReviewHookError(f"entity: {entity!r}: only jobs are sent for review")
    job = _job(session, entity_id)
    if job.status in (*_CLOSED, "standing"):
        raise ReviewHookError(f"job_id: job {entity_id} is {job.status}: nothing to decide")
    if job.target_count is None:
        raise ReviewHookError(f"job_id: job {entity_id} has no frozen target list yet")
    current = fingerprint(job)
    for row in requests_of(session, entity_id):
        if row.status == "pending" and row.fingerprint == current:
            return row
    ref = f"rv-{uuid.uuid4().hex}"
    via = "http" if settings.review_url else "file"
    payload = request_payload(session, job, ref, actor)
    row = ReviewRequest(
        request_ref=ref, entity="job", entity_id=entity_id, fingerprint=current, via=via,
        status="pending", requested_by=actor, requested_at=utcnow(),
        detail={"target_count": job.target_count, "content_version": job.template_version},
    )  # fmt: skip
    session.add(row)
    session.flush()
    if via == "file":
        write_atomic(outbox_dir(settings), f"{ref}.json", payload)
    else:
        from ums_pipelines.compliance.review_http import post_request

        row.external_ref = (send or post_request)(settings, payload)
    audit.record(
        session, actor, "review.requested", "job", entity_id, request_ref=ref, via=via,
        fingerprint=current, external_ref=row.external_ref,
    )  # fmt: skip
    return row


def requests_of(session: Session, job_id: str) -> list[ReviewRequest]:
    """The job's review requests, newest first."""
    return list(
        session.scalars(
            select(ReviewRequest)
            .where(ReviewRequest.entity == "job", ReviewRequest.entity_id == job_id)
            .order_by(ReviewRequest.id.desc())
        )
    )


def _trusted_decision(session: Session, job: Job, d: Decision, note: str) -> None:
    """A decision of an approver UMS does not know (``review_trust_external``): the same
    record as ``approve_job``/``reject_job`` without the role check, never the author."""
    if d.decided_by == job.created_by:
        raise ApprovalError(f"job {job.job_id}: {d.decided_by} is its author and cannot decide")
    if job.status in (*_CLOSED, "standing"):
        raise ApprovalError(f"job {job.job_id} is {job.status}: there is nothing to decide")
    if d.decision == "rejected":
        void_approvals(session, job.job_id, f"rejected by {d.decided_by} ({d.reason_code})")
    elif valid_approval(session, job) is not None:
        return
    row = Approval(
        entity="job", entity_id=job.job_id, content_version=job.template_version,
        target_count=job.target_count, fingerprint=fingerprint(job), role=APPROVER_ROLE,
        decided_by=d.decided_by, decision=d.decision, reason=note, decided_at=utcnow(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(
        session, d.decided_by, f"job.{d.decision}", "job", job.job_id, approval_id=row.id,
        trusted_external=True, code=d.reason_code,
    )  # fmt: skip


def _refuse(session: Session, row: ReviewRequest, d: Decision, why: str) -> Outcome:
    audit.record(
        session, "review-system", "review.refused", "job", row.entity_id,
        request_ref=row.request_ref, decided_by=d.decided_by, decision=d.decision, reason=why,
    )  # fmt: skip
    return Outcome(row.request_ref, "refused", why)


def apply_decision(
    session: Session, settings: Settings, decision: Decision, *, via: str
) -> Outcome:
    """Bring one decision in (see the module's rules). Bad input raises ReviewHookError;
    a decision that is read but not allowed comes back ``refused``, audited."""
    d = decision
    row = session.scalars(
        select(ReviewRequest).where(ReviewRequest.request_ref == d.request_ref)
    ).first()
    if row is None:
        raise ReviewHookError(f"request_ref: no review request {d.request_ref!r}")
    if row.status != "pending":
        if row.status == d.decision and row.decided_by == d.decided_by:
            return Outcome(row.request_ref, row.status, "already applied")  # a resend
        raise ReviewHookError(f"request_ref: {d.request_ref} is already {row.status}")
    if d.decision == "rejected":
        check_reason(d.reason_code, d.reason, settings)
    job = _job(session, row.entity_id)
    now = utcnow()
    if fingerprint(job) != row.fingerprint:
        row.status, row.decided_by, row.decided_at = "void", d.decided_by, now
        row.detail = {**(row.detail or {}), "void": "the job changed after the request"}
        audit.record(
            session, "review-system", "review.voided", "job", job.job_id,
            request_ref=row.request_ref, decided_by=d.decided_by, decision=d.decision,
            reason="the job changed after the request: nothing approved; request again",
        )  # fmt: skip
        return Outcome(row.request_ref, "void", "the job changed after the request")
    ref = d.external_ref or row.external_ref or row.request_ref
    note = f"review system {ref}" + (f": {d.reason}" if d.reason else "")
    try:
        if settings.review_trust_external:
            _trusted_decision(session, job, d, note)
        elif d.decision == "approved":
            approve_job(session, job.job_id, d.decided_by, note)
        else:
            reject_job(session, job.job_id, d.decided_by, str(d.reason_code), note)
    except PermissionError as exc:  # the author, no approver role, a closed job
        return _refuse(session, row, d, str(exc))
    row.status, row.decided_by, row.decided_at = d.decision, d.decided_by, now
    row.reason_code, row.reason = d.reason_code, d.reason
    row.external_ref = d.external_ref or row.external_ref
    row.detail = {**(row.detail or {}), "via": via}
    audit.record(
        session, d.decided_by, "review.decided", "job", job.job_id, request_ref=row.request_ref,
        decision=d.decision, code=d.reason_code, via=via, external_ref=row.external_ref,
    )  # fmt: skip
    return Outcome(row.request_ref, d.decision, f"{d.decision} by {d.decided_by}")
