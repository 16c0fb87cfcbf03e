"""Content versions in the store: checking a template's variants against its schema,
writing versions, reading the approved one, and the job values its schema asks for.

``ums_pipelines.jobs`` re-exports these names (the first callers import them there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.channels.payload import CHANNELS, Payload
from ums_pipelines.channels.rendering import templated_strings
from ums_pipelines.content.spec import (
    CUSTOMER_FIELDS,
    JOB_FIELDS,
    VariableKind,
    VariableSpec,
    specs_from,
)
from ums_pipelines.lanes import Purpose
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Template, TemplateVersion
from ums_pipelines.templates import check_template

__all__ = [
    "ChannelVariant",
    "CheckedContent",
    "JobError",
    "approved_version",
    "check_content",
    "check_params",
    "param_fields",
    "register_template",
    "same_content",
    "template_variants",
    "version_rows",
]


class JobError(ValueError):
    """A job or template that cannot be registered; the message names the field."""


@dataclass(frozen=True)
class ChannelVariant:
    channel: str
    body: str
    subject: str | None = None
    html_body: str | None = None
    provider_template_code: str | None = None
    # Buttons, images, RCS/Kakao types...: rendered per recipient like the body.
    payload: Payload | None = None

    def __post_init__(self) -> None:
        # An empty payload is stored as NULL: normalised here so that re-registering the
        # same content compares equal and adds no version.
        if self.payload is not None and self.payload.to_json() is None:
            object.__setattr__(self, "payload", None)


@dataclass(frozen=True)
class CheckedContent:
    """Content that passed the registration checks: the schema as stored and parsed,
    and the variants by channel."""

    stored: list[Any]
    specs: list[VariableSpec]
    variants: dict[str, ChannelVariant]


def check_content(
    variables: Sequence[str | VariableSpec], variants: Sequence[ChannelVariant]
) -> CheckedContent:
    """The checks every way of registering content goes through: a valid schema, known
    channels once each, and every templated string parsing with declared variables only."""
    stored = [v if isinstance(v, str) else v.to_json() for v in variables]
    try:
        specs = specs_from(stored)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise JobError(str(exc)) from None
    declared = [s.name for s in specs]
    if len(set(declared)) != len(declared):
        raise JobError("variables: a variable is declared twice")
    by_channel: dict[str, ChannelVariant] = {}
    for v in variants:
        if v.channel not in CHANNELS:
            raise JobError(f"variants[{v.channel}].channel: unknown channel")
        if v.channel in by_channel:
            raise JobError(f"variants[{v.channel}].channel: the channel has two variants")
        by_channel[v.channel] = v
        for field in ("body", "subject", "html_body"):
            source = getattr(v, field)
            if source:
                check_template(f"variants[{v.channel}].{field}", source, declared)
        if v.payload is not None:
            for path, source in templated_strings(v.payload):
                check_template(f"variants[{v.channel}].payload.{path}", source, declared)
    return CheckedContent(stored, specs, by_channel)


def same_content(session: Session, template_id: int, version: int, content: CheckedContent) -> bool:
    """Whether a stored version holds this content; a schema declared by legacy names
    equals the same schema spelled out as specs."""
    stored = session.scalars(
        select(TemplateVersion.variables).where(
            TemplateVersion.template_id == template_id, TemplateVersion.version == version
        )
    ).first()
    if stored is None or specs_from(stored) != content.specs:
        return False
    return template_variants(session, template_id, version) == content.variants


def version_rows(
    template_id: int, version: int, content: CheckedContent, status: str, actor: str
) -> list[TemplateVersion]:
    """The rows of one version, one per channel; an approved one names who approved it."""
    now = utcnow()
    approved = status == "approved"
    return [
        TemplateVersion(
            template_id=template_id,
            version=version,
            channel=v.channel,
            subject=v.subject,
            body=v.body,
            html_body=v.html_body,
            variables=content.stored,
            provider_template_code=v.provider_template_code,
            payload=v.payload.to_json() if v.payload is not None else None,
            status=status,
            created_at=now,
            approved_by=actor if approved else None,
            approved_at=now if approved else None,
        )
        for v in content.variants.values()
    ]


def register_template(
    session: Session,
    *,
    code: str,
    name: str,
    purpose: Purpose,
    variables: Sequence[str | VariableSpec],
    variants: Sequence[ChannelVariant],
    actor: str,
) -> tuple[Template, int]:
    """Add a template, or a new version when the content changed; identical content is a no-op.

    ``variables`` is the schema: names of the first templates' fields, or specs.
    """
    content = check_content(variables, variants)
    template = session.scalars(select(Template).where(Template.code == code)).first()
    if template is None:
        template = Template(code=code, name=name, purpose=purpose.value, created_at=utcnow())
        session.add(template)
        session.flush()
    latest = session.scalar(
        select(func.max(TemplateVersion.version)).where(TemplateVersion.template_id == template.id)
    )
    # Compared with the newest approved version: a content-bank draft of the same text
    # is not what a caller of this function may send.
    current = approved_version(session, template.id)
    if current is not None and same_content(session, template.id, current, content):
        return template, current
    version = (latest or 0) + 1
    session.add_all(version_rows(template.id, version, content, "approved", actor))
    audit.record(session, actor, "template.version_added", "template", code, version=version)
    return template, version


def approved_version(session: Session, template_id: int) -> int | None:
    """The newest approved version: what a new job sends (a draft never goes out)."""
    return session.scalar(
        select(func.max(TemplateVersion.version)).where(
            TemplateVersion.template_id == template_id, TemplateVersion.status == "approved"
        )
    )


def template_variants(
    session: Session, template_id: int, version: int
) -> dict[str, ChannelVariant]:
    rows = session.scalars(
        select(TemplateVersion).where(
            TemplateVersion.template_id == template_id, TemplateVersion.version == version
        )
    )
    return {
        r.channel: ChannelVariant(
            channel=r.channel,
            body=r.body,
            subject=r.subject,
            html_body=r.html_body,
            provider_template_code=r.provider_template_code,
            payload=Payload.from_json(r.payload) if r.payload else None,
        )
        for r in rows
    }


def param_fields(session: Session, template_id: int, version: int) -> dict[str, VariableSpec]:
    """What a job (or a real-time request) may give values for: the fields its content's
    job variables read, and an image's selector when that is not a customer field."""
    stored = session.scalars(
        select(TemplateVersion.variables).where(
            TemplateVersion.template_id == template_id, TemplateVersion.version == version
        )
    ).first()
    return {
        s.source_field: s
        for s in specs_from(stored or [])
        if (s.kind is VariableKind.JOB and s.source_field not in JOB_FIELDS)
        or (s.kind is VariableKind.IMAGE and s.source_field not in CUSTOMER_FIELDS)
    }


def check_params(
    wanted: Mapping[str, VariableSpec],
    given: Mapping[str, object],
    field: str = "params",
    complete: bool = True,
) -> dict[str, str]:
    """Values for the content's job variables: nothing undeclared (a typo would render
    as a default) and, when ``complete``, every required one present."""
    for key, value in given.items():
        if key not in wanted and key != "occasion":
            raise JobError(f"{field}.{key}: the content declares no job variable {key!r}")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise JobError(f"{field}.{key}: a text or a number is needed")
    for key, spec in wanted.items():
        required = spec.required and spec.default is None and spec.kind is VariableKind.JOB
        if complete and key not in given and required:
            raise JobError(f"{field}.{key}: the content's variable {spec.name!r} needs a value")
    return {k: str(v) for k, v in given.items()}
