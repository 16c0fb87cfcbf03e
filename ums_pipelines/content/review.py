"""The review workflow of content: draft → in_review → reviewed → approved, or rejected.

- ``submit_for_review``: the newest draft goes through the automated checks
  (``review_checks``); a blocking finding (PII, forbidden word, channel or advertising
  rule, a variant that cannot render) keeps it a draft and is returned, else it is
  ``in_review``.
- ``review_version``: a person with the ``reviewer`` (or ``approver``) role for the
  item's department, never its author, passes it (``reviewed``) or rejects it
  (``rejected``) for a reason from the managed list (``review_policy``). A rejected
  version stays as it was; the author adds the edited content, which is a new draft.
- Approval is ``bank.approve_version``: where review is required it takes only a
  reviewed version, from an ``approver`` of the department who is not the author.

Each decision is an ``approvals`` row (entity ``content``) and every transition is in the
audit log with the findings' codes and fields, never their values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.content.bank import _author
from ums_pipelines.content.catalog import ContentError, VersionInfo, find_item, versions_of
from ums_pipelines.content.review_checks import ReviewFinding, review_findings
from ums_pipelines.content.review_policy import (
    APPROVER,
    ENTITY,
    REVIEWER,
    Reason,
    department_of,
    holds_role,
    record_decision,
    rejection_reasons,
)
from ums_pipelines.settings import Settings
from ums_pipelines.store.compliance import Approval
from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import AuditLog, Template, TemplateVersion

__all__ = [
    "DECISIONS",
    "REVIEW_ACTIONS",
    "ReviewDecision",
    "ReviewFinding",
    "SubmitResult",
    "TrailEntry",
    "review_trail",
    "review_version",
    "submit_for_review",
]

DECISIONS = ("pass", "reject")
REVIEW_ACTIONS = (
    "content.version_added",
    "content.draft_replaced",
    "content.review_blocked",
    "content.submitted",
    "content.review_passed",
    "content.rejected",
    "content.approved",
)
_ENTITY = "template"  # the audit entity of content items (bank.py's)
TV = TemplateVersion


@dataclass(frozen=True)
class SubmitResult:
    code: str
    version: int
    status: str  # in_review, or draft when a blocking finding kept it there
    findings: tuple[ReviewFinding, ...]

    @property
    def blocking(self) -> tuple[ReviewFinding, ...]:
        return tuple(f for f in self.findings if f.blocking)


@dataclass(frozen=True)
class ReviewDecision:
    code: str
    version: int
    status: str  # reviewed | rejected
    reviewer: str
    reason: Reason | None
    note: str | None


@dataclass(frozen=True)
class TrailEntry:
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


def _version(session: Session, code: str, version: int) -> tuple[Template, VersionInfo]:
    """The item and the version, which must be its newest (an older one is superseded)."""
    template = find_item(session, code)
    if template.retired_at is not None:
        raise ContentError(f"code: {code!r} is retired")
    versions = versions_of(session, template.id)
    info = next((v for v in versions if v.version == version), None)
    if info is None:
        raise ContentError(f"version: {code!r} has no version {version}")
    if versions[-1].version != version:
        newest = versions[-1]
        raise ContentError(
            f"version: {code!r} version {version} is superseded by version"
            f" {newest.version} ({newest.status})"
        )
    return template, info


def _set_status(session: Session, template: Template, version: int, status: str) -> None:
    session.execute(
        update(TV).where(TV.template_id == template.id, TV.version == version).values(status=status)
    )
    template.updated_at = utcnow()


def _named(field: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f"{field}: who acts must be named")
    return value.strip()


def submit_for_review(
    session: Session, code: str, version: int, actor: str, settings: Settings
) -> SubmitResult:
    """Run the automated checks on the newest draft; clean, it goes to review."""
    actor = _named("actor", actor)
    template, info = _version(session, code, version)
    if info.status != "draft":
        hint = "; add the edited content as a new draft" if info.status == "rejected" else ""
        raise ContentError(
            f"version: {code!r} version {version} is {info.status}, not a draft{hint}"
        )
    findings = tuple(review_findings(session, template, version, settings))
    blocking = [f for f in findings if f.blocking]
    detail: dict[str, Any] = {
        "version": version,
        "codes": sorted({f.code for f in blocking}),
        "fields": sorted({f.field for f in blocking}),
        "warnings": sorted({f.code for f in findings if not f.blocking}),
    }
    if blocking:
        audit.record(session, actor, "content.review_blocked", _ENTITY, code, **detail)
        return SubmitResult(code, version, "draft", findings)
    _set_status(session, template, version, "in_review")
    audit.record(session, actor, "content.submitted", _ENTITY, code, **detail)
    return SubmitResult(code, version, "in_review", findings)


def _reason(
    decision: str, reason_code: str | None, note: str | None, review: Settings | None
) -> Reason | None:
    if decision not in DECISIONS:
        raise ContentError(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
    if decision == "pass":
        if reason_code is not None:
            raise ContentError("reason_code: a pass has no rejection reason")
        return None
    reasons = rejection_reasons(review)
    if not reason_code:
        raise ContentError(f"reason_code: a rejection needs one of {', '.join(reasons)}")
    if reason_code not in reasons:
        raise ContentError(f"reason_code: {reason_code!r} is not one of {', '.join(reasons)}")
    if reason_code == "OTHER" and not (note and note.strip()):
        raise ContentError("note: a rejection for OTHER needs a note saying why")
    return reasons[reason_code]


def review_version(
    session: Session,
    code: str,
    version: int,
    reviewer: str,
    decision: str,
    reason_code: str | None = None,
    note: str | None = None,
    *,
    review: Settings | None = None,
) -> ReviewDecision:
    """Pass (``reviewed``) or reject (``rejected``, with a listed reason) a version in
    review; the reviewer holds reviewer or approver for the department and is not the
    author."""
    reviewer = _named("reviewer", reviewer)
    reason = _reason(decision, reason_code, note, review)
    note = note.strip() if note and note.strip() else None
    template, info = _version(session, code, version)
    if info.status != "in_review":
        raise ContentError(
            f"version: {code!r} version {version} is {info.status}, not in review"
            + ("; submit it first" if info.status == "draft" else "")
        )
    if _author(session, code, version) == reviewer:
        raise ContentError(
            f"reviewer: {reviewer!r} wrote version {version}; another person reviews it"
        )
    department = department_of(template.department)
    if not holds_role(session, reviewer, (REVIEWER, APPROVER), department):
        raise ContentError(
            f"reviewer: {reviewer!r} holds neither the reviewer nor the approver role"
            f" for department {department}"
        )
    role = REVIEWER if holds_role(session, reviewer, (REVIEWER,), department) else APPROVER
    status = "reviewed" if reason is None else "rejected"
    text = (
        None if reason is None else f"{reason.code}: {reason.text}" + (f" ({note})" if note else "")
    )
    row = record_decision(
        session, template_id=template.id, code=code, version=version, actor=reviewer,
        role=role, decision="passed" if reason is None else "rejected", reason=text or note,
    )  # fmt: skip
    _set_status(session, template, version, status)
    action = "content.review_passed" if reason is None else "content.rejected"
    audit.record(
        session, reviewer, action, _ENTITY, code, version=version, approval_id=row.id,
        reason_code=reason.code if reason else None, note=note,
    )  # fmt: skip
    return ReviewDecision(code, version, status, reviewer, reason, note)


def review_trail(session: Session, code: str, version: int | None = None) -> list[TrailEntry]:
    """The item's writes and review transitions from the audit log, oldest first; a
    rejection carries its reason's text as the author reads it (``reason``)."""
    find_item(session, code)
    rows = session.scalars(
        select(AuditLog)
        .where(
            AuditLog.entity == _ENTITY,
            AuditLog.entity_id == code,
            AuditLog.action.in_(REVIEW_ACTIONS),
        )
        .order_by(AuditLog.id)
    ).all()
    decided = select(Approval.id, Approval.reason).where(
        Approval.entity == ENTITY, Approval.entity_id == code
    )
    texts = {r.id: r.reason for r in session.execute(decided)}
    trail = []
    for row in rows:
        detail = dict(row.detail or {})
        if version is not None and detail.get("version") != version:
            continue
        if row.action == "content.rejected" and detail.get("approval_id") in texts:
            detail["reason"] = texts[detail["approval_id"]]
        trail.append(TrailEntry(as_utc(row.at), row.actor, row.action, detail))
    return trail
