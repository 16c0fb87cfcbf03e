"""The content bank: content items with a variant per channel, versioned and approved.

An item is a ``templates`` row (its attributes) with versions in ``template_versions``
(one row per channel). An approved version is immutable: a change is a new version. A
draft is never sent (``register_job`` takes the newest approved version) and is replaced
in place while it is the newest. Where the department's content needs review
(``review_policy``), a version is approved only after ``review.py``'s workflow, by an
approver who is not its author. Every change is in the audit log under the item's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.compliance.roles import RoleError, require_role
from ums_pipelines.content.catalog import (
    ContentError,
    ContentSummary,
    ContentView,
    VersionInfo,
    export_content,
    find_item,
    list_content,
    show_content,
    utc_or_none,
    versions_of,
)
from ums_pipelines.content.document import ContentDocument
from ums_pipelines.content.review_policy import (
    APPROVER,
    department_of,
    record_decision,
    review_required,
)
from ums_pipelines.jobs import check_content, same_content, version_rows
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import AuditLog, Job, Template, TemplateVersion

__all__ = [
    "AddResult",
    "ContentError",
    "ContentSummary",
    "ContentView",
    "VersionInfo",
    "add_content",
    "approve_version",
    "export_content",
    "list_content",
    "retire_content",
    "show_content",
]

_ENTITY = "template"
_WRITES = ("content.version_added", "content.draft_replaced")
TV = TemplateVersion


@dataclass(frozen=True)
class AddResult:
    code: str
    version: int
    created: bool  # version rows were written (a new version, or a draft replaced)
    status: str


def _attributes(doc: ContentDocument) -> dict[str, Any]:
    """The item's attributes as the row keeps them (times in UTC: SQLite drops zones)."""
    return {
        "name": doc.name,
        "purpose": doc.purpose.value,
        "content_type": doc.content_type,
        "department": doc.department,
        "service_code": doc.service_code,
        "tags": list(doc.tags) or None,
        "valid_from": doc.valid_from.astimezone(UTC) if doc.valid_from else None,
        "valid_until": doc.valid_until.astimezone(UTC) if doc.valid_until else None,
        "approval_ids": dict(doc.approval_ids) or None,
    }


def _stored(template: Template, key: str) -> Any:
    value = getattr(template, key)
    if key in ("valid_from", "valid_until"):
        return utc_or_none(value)
    return value or None if key in ("tags", "approval_ids") else value


def _self_approval(doc: ContentDocument, review: Settings | None) -> None:
    """The author approving on adding is refused where the department needs review."""
    if review_required(doc.department, review):
        raise ContentError(
            f"approve: content of department {doc.department or '-'} is approved only after"
            " review: add it as a draft (--draft), submit it (ums content submit) and have"
            " a reviewer and an approver decide"
        )


def add_content(
    session: Session,
    doc: ContentDocument,
    actor: str,
    approve: bool = True,
    *,
    review: Settings | None = None,
) -> AddResult:
    """Store an item's attributes and its content; identical content adds no version.
    ``approve`` (the author approving at once) is refused where review is required."""
    content = check_content(doc.variables, doc.channel_variants())
    template = session.scalars(select(Template).where(Template.code == doc.code)).first()
    if template is not None and template.retired_at is not None:
        raise ContentError(f"code: {doc.code!r} is retired; give the new content a new code")
    now = utcnow()
    attrs = _attributes(doc)
    if template is None:
        template = Template(code=doc.code, created_at=now, updated_at=now, **attrs)
        session.add(template)
        session.flush()
        audit.record(session, actor, "content.created", _ENTITY, doc.code)
    else:
        changed = sorted(k for k, v in attrs.items() if _stored(template, k) != v)
        if changed:
            for key in changed:
                setattr(template, key, attrs[key])
            template.updated_at = now
            audit.record(
                session, actor, "content.attributes_changed", _ENTITY, doc.code, fields=changed
            )
    versions = versions_of(session, template.id)
    latest = versions[-1] if versions else None
    if latest is not None and same_content(session, template.id, latest.version, content):
        if latest.status == "draft" and approve:
            _self_approval(doc, review)
            _approve(session, template, latest.version, actor)
            return AddResult(doc.code, latest.version, False, "approved")
        return AddResult(doc.code, latest.version, False, latest.status)
    if approve:
        _self_approval(doc, review)
    status = "approved" if approve else "draft"
    if latest is not None and latest.status == "draft" and not _pinned(session, template, latest):
        # A draft was never sent: its number is reused rather than left as a gap.
        version, action = latest.version, "content.draft_replaced"
        session.execute(delete(TV).where(TV.template_id == template.id, TV.version == version))
    else:
        version, action = (latest.version if latest else 0) + 1, "content.version_added"
    session.add_all(version_rows(template.id, version, content, status, actor))
    template.updated_at = now
    audit.record(
        session,
        actor,
        action,
        _ENTITY,
        doc.code,
        version=version,
        status=status,
        channels=sorted(content.variants),
    )
    return AddResult(doc.code, version, True, status)


def _pinned(session: Session, template: Template, info: VersionInfo) -> bool:
    """A job registered on a version (before drafts existed) keeps it as it was."""
    return bool(
        session.scalar(
            select(
                exists().where(Job.template_id == template.id, Job.template_version == info.version)
            )
        )
    )


def _approve(session: Session, template: Template, version: int, actor: str) -> None:
    now = utcnow()
    session.execute(
        update(TV)
        .where(TV.template_id == template.id, TV.version == version)
        .values(status="approved", approved_by=actor, approved_at=now)
    )
    template.updated_at = now
    audit.record(session, actor, "content.approved", _ENTITY, template.code, version=version)


def _author(session: Session, code: str, version: int) -> str | None:
    """Who last wrote a version's content, from the audit log."""
    rows = session.execute(
        select(AuditLog.actor, AuditLog.detail)
        .where(AuditLog.entity == _ENTITY, AuditLog.entity_id == code, AuditLog.action.in_(_WRITES))
        .order_by(AuditLog.id.desc())
    )
    return next((r.actor for r in rows if (r.detail or {}).get("version") == version), None)


def approve_version(
    session: Session,
    code: str,
    version: int,
    actor: str,
    *,
    review: Settings | None = None,
) -> None:
    """Approve a version; its author may not. Where the department needs review, only
    the newest version, once reviewed, by a holder of the approver role there; else a
    draft (or a reviewed version) by anyone but the author."""
    template = find_item(session, code)
    if template.retired_at is not None:
        raise ContentError(f"code: {code!r} is retired")
    versions = versions_of(session, template.id)
    info = next((v for v in versions if v.version == version), None)
    if info is None:
        raise ContentError(f"version: {code!r} has no version {version}")
    required = review_required(template.department, review)
    if required and info.status != "reviewed":
        raise ContentError(
            f"version: {code!r} version {version} is {info.status}, not reviewed: department"
            f" {template.department or '-'} requires review before approval"
        )
    if not required and info.status not in ("draft", "reviewed"):
        raise ContentError(f"version: {code!r} version {version} is {info.status}, not a draft")
    if required and versions[-1].version != version:
        raise ContentError(f"version: {code!r} version {version} is superseded by a newer one")
    if _author(session, code, version) == actor:
        raise ContentError(f"actor: {actor!r} wrote version {version}; another person approves it")
    if required:
        try:
            require_role(session, actor, APPROVER, department_of(template.department))
        except RoleError as exc:
            raise ContentError(f"actor: {exc}") from None
        record_decision(
            session, template_id=template.id, code=code, version=version, actor=actor,
            role=APPROVER, decision="approved",
        )  # fmt: skip
    _approve(session, template, version, actor)


def retire_content(session: Session, code: str, actor: str, reason: str) -> None:
    """Retire an item: no new job may use it (jobs already registered run on)."""
    if not reason.strip():
        raise ContentError("reason: say why the item is retired")
    template = find_item(session, code)
    if template.retired_at is not None:
        raise ContentError(f"code: {code!r} is retired already")
    now = utcnow()
    template.retired_at = now
    template.updated_at = now
    session.execute(update(TV).where(TV.template_id == template.id).values(status="retired"))
    audit.record(session, actor, "content.retired", _ENTITY, code, reason=reason.strip())
