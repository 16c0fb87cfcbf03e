"""Registering sender numbers and send jobs in the operational store (content versions
are ``content/versions.py``; their names are re-exported here for the first callers)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.compliance import senders
from ums_pipelines.content.versions import (
    ChannelVariant,
    CheckedContent,
    JobError,
    approved_version,
    check_content,
    check_params,
    param_fields,
    register_template,
    same_content,
    template_variants,
    version_rows,
)
from ums_pipelines.lanes import Lane
from ums_pipelines.store.engine import as_utc, utcnow
from ums_pipelines.store.models import Job, SenderNumber, Template

if TYPE_CHECKING:
    from ums_pipelines.settings import Settings

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
    planned_count: int | None = None,
    settings: Settings | None = None,
) -> tuple[Job, bool]:
    """Register a job once: the same job id again returns the existing job (created=False).

    ``params`` are the values of the content's job variables (an event date, a rate, the
    ``occasion`` that picks phrases): the same for every recipient, checked here.
    ``planned_count`` is the author's expected number of targets: a frozen list far from
    it is flagged (``compliance.stages``). With ``settings`` the job is checked against
    the send calendar (``calendar.check``): conflicts are recorded and alerted, never
    refused.
    """
    if not _JOB_ID.match(job_id):
        raise JobError(f"job_id: {job_id!r} must be 1–64 letters, digits, '.', '_' or '-'")
    plan = plan or SendPlan()
    plan.check()
    if planned_count is not None and (isinstance(planned_count, bool) or planned_count < 1):
        raise JobError(f"planned_count: {planned_count!r} must be a whole number of 1 or more")
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
        planned_count=planned_count,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    audit.record(
        session,
        actor,
        "job.registered",
        "job",
        job_id,
        template=template_code,
        **({"planned_count": planned_count} if planned_count is not None else {}),
    )
    if settings is not None and not per_request:
        from ums_pipelines.calendar.check import check_job

        session.flush()
        check_job(session, settings, job_id, actor=actor, now=now)
    return job, True
