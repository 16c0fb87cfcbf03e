"""Alert notifications to the on-call list, sent by UMS itself on the urgent lane.

Each notification becomes real-time send requests (caller ``ums-alerts``) of the standing
job ``ums-alerts`` (content ``ums-alert``: the text as a job variable), one per on-call
contact and channel (SMS to the phone, e-mail to the address), written with their outbox
rows in one transaction like ``dispatch/intake.py`` does. The request key is (alert,
notification number, contact, channel) and the wire key derives from it: a crash before
the commit queues them again, after it finds them there, and never sends twice. The send
agents (``ums agent``) send them ahead of every other lane.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ums_pipelines.alerts.oncall import OncallRecipient, active_contacts
from ums_pipelines.compliance.workflow import transition
from ums_pipelines.content.plan import renderer_for
from ums_pipelines.content.spec import VariableKind, VariableSpec
from ums_pipelines.dispatch.compose import compose_row, request_key
from ums_pipelines.jobs import ChannelVariant, register_job, register_template, template_variants
from ums_pipelines.lanes import Lane, Purpose, message_priority
from ums_pipelines.settings import Settings
from ums_pipelines.store.alerts import AlertNotification
from ums_pipelines.store.engine import Store
from ums_pipelines.store.models import Job, Message, SenderNumber
from ums_pipelines.store.sendplane import SendRequest

__all__ = [
    "ALERT_JOB",
    "ALERT_TEMPLATE",
    "CALLER",
    "AlertSetupError",
    "ensure_alert_job",
    "queue_oncall",
]

CALLER = "ums-alerts"
ALERT_TEMPLATE = "ums-alert"
ALERT_JOB = "ums-alerts"
_ACTOR = "ums-alerts"
_SPECS = (
    VariableSpec(name="alert_text", kind=VariableKind.JOB, max_length=1000),
    VariableSpec(name="alert_subject", kind=VariableKind.JOB, max_length=120),
)
_VARIANTS = (
    ChannelVariant("sms", "{{ alert_text }}"),
    ChannelVariant("email", "{{ alert_text }}", "{{ alert_subject }}"),
)


class AlertSetupError(RuntimeError):
    """The alert job cannot be set up (no sender number): nothing can reach on-call."""


def ensure_alert_job(store: Store, settings: Settings) -> str:
    """The standing job on-call messages go under, registered on first use."""
    with store.session() as session:
        if session.get(Job, ALERT_JOB) is not None:
            return ALERT_JOB
    try:
        with store.session() as session:
            register_template(
                session, code=ALERT_TEMPLATE, name="UMS alert", purpose=Purpose.INFORMATIONAL,
                variables=_SPECS, variants=_VARIANTS, actor=_ACTOR,
            )  # fmt: skip
            sender = settings.alert_sender_number or session.scalar(
                select(SenderNumber.number)
                .where(SenderNumber.active.is_(True))
                .order_by(SenderNumber.number)
                .limit(1)
            )
            if sender is None:
                raise AlertSetupError(
                    "alert_sender_number: not set and no active sender number is registered"
                )
            job, created = register_job(
                session, job_id=ALERT_JOB, name="UMS alerts to on-call",
                template_code=ALERT_TEMPLATE, routes={"sms": ["sms"], "email": ["email"]},
                sender_number=sender, department="operations", actor=_ACTOR,
                lane=Lane.URGENT, per_request=True,
            )  # fmt: skip
            if created:
                transition(session, job, "standing", _ACTOR)
    except IntegrityError:
        pass  # another evaluator registered it first: same id, same content
    return ALERT_JOB


def _subject(text: str) -> str:
    return text if len(text) <= 120 else text[:119] + "…"


def _queue_one(
    session: Session,
    settings: Settings,
    job: Job,
    note: AlertNotification,
    contact: OncallRecipient,
    channel: str,
    now: datetime,
) -> bool:
    caller_key = f"alert-{note.alert_id}-{note.seq}-{contact.customer_id}-{channel}"
    seen = session.scalar(
        select(SendRequest.id).where(
            SendRequest.caller == CALLER, SendRequest.caller_key == caller_key
        )
    )
    if seen is not None:
        return False
    values = {"alert_text": note.text, "alert_subject": _subject(note.text)}
    variants = template_variants(session, job.template_id, job.template_version)
    renderer = renderer_for(session, settings, job, now).with_params(values)
    today = now.astimezone(settings.tz).strftime("%Y-%m-%d")
    row, _ = compose_row(
        job, variants[channel], contact, [channel], 0, now, today, renderer=renderer,
        key=request_key(job.job_id, CALLER, caller_key, 0),
    )  # fmt: skip
    row["priority"] = message_priority(Lane.URGENT, channel)
    request = SendRequest(
        caller=CALLER, caller_key=caller_key, job_id=job.job_id,
        customer_id=contact.customer_id, variables=values, lane=int(Lane.URGENT),
        state="queued", error=None, received_at=now,
    )  # fmt: skip
    message = Message(**row)
    session.add_all([request, message])
    session.flush()
    request.message_id = message.id
    return True


def queue_oncall(store: Store, settings: Settings, now: datetime, limit: int = 100) -> int:
    """Queue the on-call messages of every pending notification; the number queued."""
    with store.reading() as session:
        pending = session.scalars(
            select(AlertNotification.id)
            .where(AlertNotification.oncall_state == "pending")
            .order_by(AlertNotification.id)
            .limit(limit)
        ).all()
    if not pending:
        return 0
    with store.reading() as session:
        nobody = not active_contacts(session)
    # With nobody on call there is nothing to queue and no job to set up: done.
    job_id = None if nobody else ensure_alert_job(store, settings)
    queued = 0
    for note_id in pending:
        with store.session() as session:
            note = session.get(AlertNotification, note_id, with_for_update=True)
            if note is None or note.oncall_state != "pending":
                continue  # another evaluator queued it
            job = session.get(Job, job_id) if job_id is not None else None
            contacts = active_contacts(session) if job is not None else []
            made = 0
            for contact in contacts:
                assert job is not None
                for channel, address in (("sms", contact.phone), ("email", contact.email)):
                    if address:
                        made += _queue_one(session, settings, job, note, contact, channel, now)
            note.oncall_state, note.oncall_requests = "queued", note.oncall_requests + made
            queued += made
    return queued
