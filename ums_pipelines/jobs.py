"""Registering content, sender numbers and send jobs in the operational store."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.channels.payload import CHANNELS, Payload
from ums_pipelines.channels.rendering import templated_strings
from ums_pipelines.compliance import senders
from ums_pipelines.content.spec import (
    CUSTOMER_FIELDS,
    JOB_FIELDS,
    VariableKind,
    VariableSpec,
    specs_from,
)
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import Job, SenderNumber, Template, TemplateVersion
from ums_pipelines.templates import check_template

__all__ = [
    "ChannelVariant",
    "CheckedContent",
    "JobError",
    "SendPlan",
    "approved_version",
    "check_content",
    "check_params",
    "param_fields",
    "register_job",
    "register_sender_number",
    "register_template",
    "same_content",
    "template_variants",
    "version_rows",
]

_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


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


def register_sender_number(
    session: Session,
    number: str,
    label: str,
    actor: str,
    *,
    department: str | None = None,
    proof_ref: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> SenderNumber:
    """Register a caller number in the sender registry; a number already registered is
    returned as it is (``compliance.senders.update`` changes it)."""
    try:
        digits = senders.clean_value("number", number)
        existing = session.get(SenderNumber, digits)
        if existing:
            return existing
        row = senders.register(
            session,
            "number",
            digits,
            label,
            actor,
            department=department,
            proof_ref=proof_ref,
            valid_from=valid_from,
            valid_until=valid_until,
        )
    except senders.SenderError as exc:
        raise JobError(str(exc)) from None
    assert isinstance(row, SenderNumber)
    return row


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


@dataclass(frozen=True)
class SendPlan:
    """When and how fast a job goes out: its send window, splits, pacing, validity, timeout.

    The window is the job's own, separate from any service code: what is not sent by
    ``must_end_by`` (or by ``content_valid_until``, whichever is first) is stopped and
    reported, never sent late.
    """

    not_before: datetime | None = None
    must_end_by: datetime | None = None
    chunk_size: int = 1000
    pace_per_s: float | None = None
    content_valid_until: datetime | None = None
    leg_timeout_s: int | None = None
    # Every URL of every content area becomes a per-recipient short link.
    shorten_urls: bool = False

    def check(self) -> None:
        for name in ("not_before", "must_end_by", "content_valid_until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise JobError(f"plan.{name}: {value} has no time zone (give +09:00 or UTC)")
        if self.not_before and self.must_end_by and self.must_end_by <= self.not_before:
            raise JobError("plan.must_end_by: the window ends before it begins")
        if not 1 <= self.chunk_size <= 100_000:
            raise JobError(f"plan.chunk_size: {self.chunk_size} is not within 1..100000")
        if self.pace_per_s is not None and self.pace_per_s <= 0:
            raise JobError(f"plan.pace_per_s: {self.pace_per_s} must be above 0")
        if self.leg_timeout_s is not None and self.leg_timeout_s <= 0:
            raise JobError(f"plan.leg_timeout_s: {self.leg_timeout_s} must be above 0")


def _valid_until(template: Template, plan: SendPlan, now: datetime) -> datetime | None:
    """The job stops at the earlier of its plan's and its content item's end of validity;
    an item no longer valid, or not yet valid before the job's window ends, is refused."""
    until = as_utc(template.valid_until) if template.valid_until is not None else None
    if until is not None and until <= now:
        raise JobError(f"template_code: {template.code!r} was valid until {until.isoformat()}")
    since = as_utc(template.valid_from) if template.valid_from is not None else None
    if since is not None and plan.must_end_by is not None and plan.must_end_by <= since:
        raise JobError(
            f"plan.must_end_by: the window ends before {template.code!r} is valid"
            f" (from {since.isoformat()})"
        )
    ends = [t for t in (plan.content_valid_until, until) if t is not None]
    return min(ends) if ends else None


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


def register_job(
    session: Session,
    *,
    job_id: str,
    name: str,
    template_code: str,
    routes: Mapping[str, Sequence[str]],
    sender_number: str,
    department: str,
    actor: str,
    lane: Lane = Lane.INFORMATIONAL,
    plan: SendPlan | None = None,
    params: Mapping[str, str | int | float] | None = None,
    per_request: bool = False,
) -> tuple[Job, bool]:
    """Register a job once: the same job id again returns the existing job (created=False).

    ``params`` are the values of the content's job variables (an event date, a rate, the
    ``occasion`` that picks phrases): the same for every recipient, checked here.
    """
    if not _JOB_ID.match(job_id):
        raise JobError(f"job_id: {job_id!r} must be 1–64 letters, digits, '.', '_' or '-'")
    plan = plan or SendPlan()
    plan.check()
    existing = session.get(Job, job_id)
    if existing:
        return existing, False
    template = session.scalars(select(Template).where(Template.code == template_code)).first()
    if template is None:
        raise JobError(f"template_code: no template {template_code!r}")
    if template.retired_at is not None:
        raise JobError(f"template_code: {template_code!r} is retired")
    now = utcnow()
    content_valid_until = _valid_until(template, plan, now)
    version = approved_version(session, template.id)
    if version is None:
        raise JobError(f"template_code: {template_code!r} has no approved version")
    variants = template_variants(session, template.id, version)
    for preferred, chain in routes.items():
        if not chain:
            raise JobError(f"routes[{preferred}]: empty fallback chain")
        for channel in chain:
            if channel not in variants:
                raise JobError(f"routes[{preferred}]: template has no {channel} variant")
    # A standing job's values come with each request, checked when it arrives.
    wanted = param_fields(session, template.id, version)
    job_params = check_params(wanted, params or {}, complete=not per_request)
    try:  # registered, active, and valid over the job's whole window
        sender = senders.usable(
            session,
            "number",
            sender_number,
            not_before=plan.not_before,
            must_end_by=plan.must_end_by,
            now=now,
        )
    except senders.SenderError as exc:
        raise JobError(str(exc)) from None
    assert isinstance(sender, SenderNumber)
    routes_json: dict[str, Any] = {k: list(v) for k, v in routes.items()}
    job = Job(
        job_id=job_id,
        name=name,
        template_id=template.id,
        template_version=version,
        purpose=template.purpose,
        priority=int(lane),
        routes=routes_json,
        sender_number=sender.number,
        department=department,
        status="registered",
        not_before=plan.not_before,
        expires_at=plan.must_end_by,
        chunk_size=plan.chunk_size,
        pace_per_s=plan.pace_per_s,
        content_valid_until=content_valid_until,
        leg_timeout_s=plan.leg_timeout_s,
        params=job_params or None,
        shorten_urls=plan.shorten_urls or None,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    audit.record(session, actor, "job.registered", "job", job_id, template=template_code)
    return job, True
