"""Reading the content bank: listing and searching items, one item with its versions,
and an item's file form (``ums content list|show|export``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from ums_pipelines.channels.payload import CHANNELS
from ums_pipelines.content.document import ContentDocument, VariantDocument, explain
from ums_pipelines.content.spec import specs_from
from ums_pipelines.jobs import ChannelVariant, template_variants
from ums_pipelines.lanes import Purpose
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Template, TemplateVersion

__all__ = [
    "ContentError",
    "ContentSummary",
    "ContentView",
    "VersionInfo",
    "export_content",
    "find_item",
    "list_content",
    "show_content",
    "utc_or_none",
    "versions_of",
]

TV = TemplateVersion


class ContentError(ValueError):
    """A content-bank operation that cannot be done; the message names the field."""


@dataclass(frozen=True)
class AddResult:
    code: str
    version: int
    created: bool  # version rows were written (a new version, or a draft replaced)
    status: str


@dataclass(frozen=True)
class VersionInfo:
    version: int
    status: str
    channels: tuple[str, ...]
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None


@dataclass(frozen=True)
class ContentSummary:
    code: str
    name: str
    purpose: str
    content_type: str | None
    department: str | None
    tags: tuple[str, ...]
    version: int  # the newest
    status: str  # of the newest
    approved_version: int | None
    channels: tuple[str, ...]  # of the newest
    valid_until: datetime | None
    retired: bool


@dataclass(frozen=True)
class ContentView:
    document: ContentDocument  # attributes, variables and the shown version's variants
    version: int
    status: str
    versions: list[VersionInfo]
    created_at: datetime
    updated_at: datetime | None
    retired_at: datetime | None


def utc_or_none(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def find_item(session: Session, code: str) -> Template:
    template = session.scalars(select(Template).where(Template.code == code)).first()
    if template is None:
        raise ContentError(f"code: no content item {code!r}")
    return template


def versions_of(session: Session, template_id: int) -> list[VersionInfo]:
    rows = session.execute(
        select(TV.version, TV.status, TV.channel, TV.created_at, TV.approved_by, TV.approved_at)
        .where(TV.template_id == template_id)
        .order_by(TV.version)
    ).all()
    channels: dict[int, list[str]] = defaultdict(list)
    first: dict[int, Any] = {}
    for row in rows:
        channels[row.version].append(row.channel)
        first.setdefault(row.version, row)
    return [
        VersionInfo(
            version=v,
            status=r.status,
            channels=tuple(sorted(channels[v], key=CHANNELS.index)),
            created_at=as_utc(r.created_at),
            approved_by=r.approved_by,
            approved_at=utc_or_none(r.approved_at),
        )
        for v, r in first.items()
    ]


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_content(
    session: Session,
    *,
    search: str | None = None,
    tag: str | None = None,
    department: str | None = None,
    purpose: str | None = None,
    channel: str | None = None,
    include_retired: bool = False,
) -> list[ContentSummary]:
    """Items by code; ``search`` matches code, name and the newest version's texts."""
    # The newest version of the row's item: compared within the EXISTS below, so the
    # max() correlates to that template_versions row, not to the outer templates.
    other = aliased(TV)
    newest = (
        select(func.max(other.version)).where(other.template_id == TV.template_id).scalar_subquery()
    )
    in_newest = (TV.template_id == Template.id, TV.version == newest)
    query = select(Template).order_by(Template.code)
    if not include_retired:
        query = query.where(Template.retired_at.is_(None))
    if department:
        query = query.where(Template.department == department)
    if purpose:
        try:
            value = Purpose("auth" if purpose == "authentication" else purpose).value
        except ValueError:
            raise ContentError(f"purpose: {purpose!r} is not one of {', '.join(Purpose)}") from None
        query = query.where(Template.purpose == value)
    if channel:
        if channel not in CHANNELS:
            raise ContentError(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
        query = query.where(exists().where(*in_newest, TV.channel == channel))
    if search:
        pattern = _like(search)
        texts = [
            func.lower(c).like(pattern, escape="\\") for c in (TV.body, TV.subject, TV.html_body)
        ]
        query = query.where(
            or_(
                func.lower(Template.code).like(pattern, escape="\\"),
                func.lower(Template.name).like(pattern, escape="\\"),
                exists().where(*in_newest, or_(*texts)),
            )
        )
    summaries = []
    for t in session.scalars(query):
        if tag and tag not in (t.tags or []):
            continue
        versions = versions_of(session, t.id)
        if not versions:
            continue
        approved = [v.version for v in versions if v.status == "approved"]
        summaries.append(
            ContentSummary(
                code=t.code,
                name=t.name,
                purpose=t.purpose,
                content_type=t.content_type,
                department=t.department,
                tags=tuple(t.tags or ()),
                version=versions[-1].version,
                status=versions[-1].status,
                approved_version=approved[-1] if approved else None,
                channels=versions[-1].channels,
                valid_until=utc_or_none(t.valid_until),
                retired=t.retired_at is not None,
            )
        )
    return summaries


def show_content(session: Session, code: str, version: int | None = None) -> ContentView:
    """An item with one version's content (the newest unless ``version``) and all versions."""
    template = find_item(session, code)
    versions = versions_of(session, template.id)
    if not versions:
        raise ContentError(f"code: {code!r} has no version")
    info = (
        versions[-1]
        if version is None
        else next((v for v in versions if v.version == version), None)
    )
    if info is None:
        have = ", ".join(str(v.version) for v in versions)
        raise ContentError(f"version: {code!r} has no version {version} (has {have})")
    stored = session.scalars(
        select(TV.variables).where(TV.template_id == template.id, TV.version == info.version)
    ).first()
    variants = template_variants(session, template.id, info.version)
    try:
        document = _document(template, stored or [], [variants[c] for c in info.channels])
    except ValidationError as exc:
        # An item registered before the content bank may break a rule of the file form.
        raise ContentError(f"code: {code!r} has no valid file form: {explain(exc)}") from None
    return ContentView(
        document=document,
        version=info.version,
        status=info.status,
        versions=versions,
        created_at=as_utc(template.created_at),
        updated_at=utc_or_none(template.updated_at),
        retired_at=utc_or_none(template.retired_at),
    )


def _document(
    template: Template, stored: list[Any], variants: list[ChannelVariant]
) -> ContentDocument:
    return ContentDocument(
        code=template.code,
        name=template.name,
        purpose=Purpose(template.purpose),
        content_type=template.content_type,
        department=template.department,
        service_code=template.service_code,
        tags=list(template.tags or []),
        valid_from=utc_or_none(template.valid_from),
        valid_until=utc_or_none(template.valid_until),
        approval_ids=dict(template.approval_ids or {}),
        variables=specs_from(stored),
        variants=[VariantDocument.from_variant(v) for v in variants],
    )


def export_content(session: Session, code: str, version: int | None = None) -> ContentDocument:
    """The file form of an item: adding it back changes nothing."""
    return show_content(session, code, version).document
