"""The rules of content review: whether a department's content needs it, the managed
list of rejection reasons, who may decide, and the decisions' records.

The content bank (``bank.approve_version``) and the review workflow (``review.py``) both
read these, so the approval gate and the review cannot disagree about a department.

Settings (``ums_pipelines.settings.Settings``):

- ``UMS_CONTENT_REVIEW_REQUIRED`` (default true): a version is approved only after it
  passed review; the author can no longer approve their own content on adding it.
- ``UMS_CONTENT_REVIEW_EXEMPT_DEPARTMENTS`` (JSON list, default empty): departments whose
  content is approved without review.
- ``UMS_REJECTION_REASONS_FILE`` (older name ``UMS_CONTENT_REJECTION_REASONS_FILE``): a
  JSON file adding (or rewording) rejection reasons. The list is one for content review
  and job approval: ``compliance.reasons``, re-exported here.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines.compliance.reasons import REJECTION_REASONS, Reason, rejection_reasons
from ums_pipelines.compliance.roles import ALL_DEPARTMENTS, has_role
from ums_pipelines.settings import Settings, get_settings
from ums_pipelines.store.compliance import Approval
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import TemplateVersion

__all__ = [
    "APPROVER",
    "ENTITY",
    "REJECTION_REASONS",
    "REVIEWER",
    "Reason",
    "content_fingerprint",
    "department_of",
    "holds_role",
    "record_decision",
    "rejection_reasons",
    "review_required",
]

ENTITY = "content"  # approvals.entity of content decisions (jobs' are "job")
REVIEWER, APPROVER = "reviewer", "approver"


def review_required(department: str | None, review: Settings | None = None) -> bool:
    review = review or get_settings()
    if not review.content_review_required:
        return False
    return department is None or department not in review.content_review_exempt_departments


def department_of(department: str | None) -> str:
    """The department roles are checked in: an item without one needs a '*' holder."""
    return department or ALL_DEPARTMENTS


def holds_role(session: Session, actor: str, roles: tuple[str, ...], department: str) -> bool:
    return any(has_role(session, actor, role, department) for role in roles)


def content_fingerprint(session: Session, template_id: int, version: int) -> str:
    """sha256 of a version's content (schema and every variant), what a decision is on."""
    rows = session.scalars(
        select(TemplateVersion)
        .where(TemplateVersion.template_id == template_id, TemplateVersion.version == version)
        .order_by(TemplateVersion.channel)
    )
    content = [
        [r.channel, r.subject, r.body, r.html_body, r.provider_template_code, r.payload]
        for r in rows
    ]
    stored = session.scalars(
        select(TemplateVersion.variables).where(
            TemplateVersion.template_id == template_id, TemplateVersion.version == version
        )
    ).first()
    text = json.dumps([stored, content], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def record_decision(
    session: Session,
    *,
    template_id: int,
    code: str,
    version: int,
    actor: str,
    role: str,
    decision: str,
    reason: str | None = None,
) -> Approval:
    """One reviewer's or approver's decision on a content version (``approvals`` row)."""
    row = Approval(
        entity=ENTITY,
        entity_id=code,
        content_version=version,
        target_count=None,
        fingerprint=content_fingerprint(session, template_id, version),
        role=role,
        decided_by=actor,
        decision=decision,
        reason=reason,
        decided_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row
