"""Standing jobs: the job a template's real-time messages are sent under, per lane.

Real-time messages need a job like any outbox row (content, routes, sender number,
purpose for consent); a standing job is registered on first use and never finishes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ums_pipelines.compliance.workflow import transition
from ums_pipelines.jobs import JobError, approved_version, register_job, template_variants
from ums_pipelines.lanes import CHANNELS, Lane, Purpose
from ums_pipelines.store.engine import Store
from ums_pipelines.store.models import Job, SenderNumber, Template

__all__ = ["LANE_OF_PURPOSE", "IntakeError", "parse_lane", "standing_job"]

# A template's purpose sets the lane of its standing job; a request may ask for another.
LANE_OF_PURPOSE = {
    Purpose.AUTH.value: Lane.AUTH,
    Purpose.INFORMATIONAL.value: Lane.TRANSACTIONAL,
    Purpose.ADVERTISING.value: Lane.MARKETING,
}
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class IntakeError(ValueError):
    """A request that cannot be accepted at all; the message names the field."""


def parse_lane(value: object) -> Lane:
    """A lane as its number (0-4) or its name ("urgent", "AUTH", ...)."""
    if isinstance(value, Lane):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value in {int(lane) for lane in Lane}:
            return Lane(value)
    elif isinstance(value, str) and value.strip().upper() in Lane.__members__:
        return Lane[value.strip().upper()]
    names = ", ".join(lane.name.lower() for lane in Lane)
    raise IntakeError(f"lane: {value!r} is not a lane (0-4 or {names})")


def _standing_id(template_code: str, lane: Lane, version: int) -> str:
    # A standing job is pinned to a version: a newly approved one gets its own job, so
    # real-time sends follow the content bank and history tells which text went out.
    suffix = f"-v{version}" if version > 1 else ""
    job_id = f"rt-{lane.name.lower()}-{template_code}{suffix}"
    if _JOB_ID.match(job_id):
        return job_id
    # A long or exotic template code still gets a valid, stable job id.
    digest = hashlib.sha256(template_code.encode()).hexdigest()[:16]
    return f"rt-{lane.name.lower()}-{digest}{suffix}"


def _default_routes(channels: Sequence[str]) -> dict[str, list[str]]:
    # Every channel falls back to SMS when the template has an SMS text: an alert that
    # cannot reach the app or KakaoTalk still reaches the phone.
    sms = ["sms"] if "sms" in channels else []
    routes = {c: [c, *(s for s in sms if s != c)] for c in channels}
    routes["default"] = sms or [sorted(channels, key=CHANNELS.index)[0]]
    return routes


def standing_job(
    store: Store,
    template_code: str,
    lane: Lane | None = None,
    sender_number: str | None = None,
) -> str:
    """The standing job of a template and lane, registered on first use; returns its id."""
    with store.session() as session:
        template = session.scalars(select(Template).where(Template.code == template_code)).first()
        if template is None:
            raise IntakeError(f"template_code: no template {template_code!r}")
        if template.retired_at is not None:
            raise IntakeError(f"template_code: {template_code!r} is retired")
        version = approved_version(session, template.id)
        if version is None:
            raise IntakeError(f"template_code: {template_code!r} has no approved version")
        lane = lane if lane is not None else LANE_OF_PURPOSE[template.purpose]
        job_id = _standing_id(template_code, lane, version)
        if session.get(Job, job_id) is not None:
            return job_id
    try:
        with store.session() as session:
            channels = list(template_variants(session, template.id, version))
            sender = sender_number or session.scalar(
                select(SenderNumber.number)
                .where(SenderNumber.active.is_(True))
                .order_by(SenderNumber.number)
                .limit(1)
            )
            if sender is None:
                raise IntakeError("sender_number: no active sender number is registered")
            job, created = register_job(
                session,
                job_id=job_id,
                name=f"{template.name} (real time)",
                template_code=template_code,
                routes=_default_routes(channels),
                sender_number=sender,
                # The owning department's head approves real-time advertising.
                department=template.department or "realtime",
                actor="intake",
                lane=lane,
                per_request=True,
            )
            if created:
                transition(session, job, "standing", "intake")
    except JobError as exc:
        raise IntakeError(str(exc)) from None
    except IntegrityError:
        pass  # another process registered it first: same id, same content
    return job_id
