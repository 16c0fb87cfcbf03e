"""Turning a job, a customer and a channel into one outbox row with rendered content."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ums_pipelines.channels.checks import CheckResult, check_message
from ums_pipelines.channels.encoding import NotEncodable
from ums_pipelines.channels.international import INTL_TYPE, destination
from ums_pipelines.channels.payload import Payload
from ums_pipelines.channels.rendering import message_type_for, render_payload, templated_strings
from ums_pipelines.content.render import LINKS_KEY, Renderer, shorten_payload
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import message_priority
from ums_pipelines.shortlinks.opens import OPEN_CHANNELS, with_open_url
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Job, Message
from ums_pipelines.targets import Recipient, contact_for
from ums_pipelines.templates import TemplateError, render

__all__ = [
    "PROVIDERS",
    "Composed",
    "Recipient",
    "check_leg",
    "compose",
    "compose_row",
    "idempotency_key",
    "job_end",
    "leg_key",
    "request_key",
]

# Provider per channel; issue-level routing across several providers comes later.
# FriendTalk and brand messages go through the same Kakao bizmessage gateway as AlimTalk.
PROVIDERS = {
    "sms": "sim-sms",
    "rcs": "sim-rcs",
    "alimtalk": "sim-kakao",
    "friendtalk": "sim-kakao",
    "brand": "sim-kakao",
    "push": "sim-fcm",
    "email": "sim-smtp",
    "dm": "sim-dm",
}
# A message type sent through another provider than its channel's default.
_TYPE_PROVIDERS = {"APNS": "sim-apns"}
# The type recorded on a row that failed before its own type could be decided.
_FALLBACK_TYPES = {
    "rcs": "RCS_SMS",
    "alimtalk": "ALIMTALK",
    "friendtalk": "FRIENDTALK_TEXT",
    "brand": "BRAND",
    "push": "FCM",
    "email": "EMAIL",
    "dm": "DM",
}


def idempotency_key(job_id: str, customer_id: str, leg: int) -> str:
    """Stable across retries and restarts; the job id prefix lets a ledger be read per job."""
    digest = hashlib.sha256(f"{job_id}|{customer_id}|{leg}".encode()).hexdigest()[:24]
    return f"{job_id}.{digest}"


def request_key(job_id: str, caller: str, caller_key: str, leg: int) -> str:
    """A real-time request's key: one customer gets many alerts in the same standing job."""
    digest = hashlib.sha256(f"{job_id}|{caller}|{caller_key}|{leg}".encode()).hexdigest()[:24]
    return f"{job_id}.{digest}"


def leg_key(job_id: str, customer_id: str, leg: int, parent_key: str | None) -> str:
    """The key of a chain's leg ``leg``: per customer for a bulk job's chain, derived from
    the previous leg's key when that one was keyed per request (a real-time message)."""
    if parent_key is None or parent_key == idempotency_key(job_id, customer_id, leg - 1):
        return idempotency_key(job_id, customer_id, leg)
    digest = hashlib.sha256(f"{parent_key}|{leg}".encode()).hexdigest()[:24]
    return f"{job_id}.{digest}"


@dataclass(frozen=True)
class Composed:
    message: Message
    error: str | None
    links: list[dict[str, Any]]


def job_end(job: Job) -> tuple[datetime | None, str]:
    """When a job must stop (its window or its content's validity, whichever is first),
    and the code recorded on what it could not send by then."""
    ends = [(job.expires_at, "E-WINDOW"), (job.content_valid_until, "E-CONTENT-EXPIRED")]
    present = [(as_utc(t), code) for t, code in ends if t is not None]
    if not present:
        return None, ""
    return min(present, key=lambda pair: pair[0])


def _sources(variant: ChannelVariant) -> list[str]:
    texts = [t for t in (variant.body, variant.subject, variant.html_body) if t]
    if variant.payload is not None:
        texts += [text for _, text in templated_strings(variant.payload)]
        # An image slot ("slot:hero") uses its image variable like a tag would.
        texts += [
            "{{ " + i.ref[5:] + " }}" for i in variant.payload.images if i.ref.startswith("slot:")
        ]
    return texts


def check_leg(
    channel: str,
    message_type: str,
    body: str,
    subject: str | None,
    payload: Payload | None,
    job: Job,
    country: str | None = None,
) -> CheckResult:
    """The channel's rules on one rendered leg, as compose applies them (the preview
    shows the same result)."""
    # An international SMS is checked as an SMS abroad: the relay's encoding and size.
    kind = "sms" if message_type == INTL_TYPE else message_type.lower()
    return check_message(
        kind if channel == "sms" else channel,
        body,
        subject=subject,
        purpose=job.purpose,
        payload=payload,
        sender=job.sender_number,
        push_platform="apns" if message_type == "APNS" else "fcm",
        country=country,
    )


def _violations(
    channel: str,
    message_type: str,
    body: str,
    subject: str | None,
    payload: Payload | None,
    job: Job,
    country: str | None = None,
) -> str | None:
    result = check_leg(channel, message_type, body, subject, payload, job, country)
    return "; ".join(v.message for v in result.violations) or None


def compose_row(
    job: Job,
    variant: ChannelVariant,
    customer: Recipient,
    chain: list[str],
    leg: int,
    now: datetime,
    today: str,
    parent_id: int | None = None,
    parent_key: str | None = None,
    renderer: Renderer | None = None,
    key: str | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Render one leg into outbox column values (no ORM object: bulk jobs insert millions).

    A render or encoding failure becomes a failed row, never a lost one. The row's short
    links (if its content has any) ride along under ``LINKS_KEY``; ``key`` overrides the
    chain's own idempotency key (a real-time request's, a resend round's).
    """
    channel = chain[leg]
    key = key or leg_key(job.job_id, customer.customer_id, leg, parent_key)
    links = None
    variables: dict[str, str] = {}
    error: str | None = None
    error_code = "E-RENDER"
    subject: str | None = None
    html: str | None = None
    body = ""
    payload: Payload | None = None
    message_type = _FALLBACK_TYPES.get(channel, "SMS")
    try:
        if renderer is None or renderer.legacy:
            variables = {
                "name": customer.name or "고객",
                "branch": customer.branch or "",
                "customer_id": customer.customer_id,
                "job_name": job.name,
                "sender_number": job.sender_number,
                "department": job.department,
                "today": today,
            }
        else:
            links = renderer.message_links(key, job.job_id, customer.customer_id, now)
            used = renderer.used_by(channel, _sources(variant))
            variables = renderer.variables(customer, links, used)
        body = render(f"{channel}.body", variant.body, variables)
        subject = (
            render(f"{channel}.subject", variant.subject, variables) if variant.subject else None
        )
        html = (
            render(f"{channel}.html", variant.html_body, variables) if variant.html_body else None
        )
        if variant.payload is not None:
            payload = render_payload(
                variant.payload,
                lambda path, source: render(f"{channel}.payload.{path}", source, variables),
            )
            if renderer is not None and not renderer.legacy:
                payload = renderer.substitute_images(payload, variables)
        if links is not None and links.settings.shorten_all:
            body = links.shorten(body)
            html = links.shorten_html(html) if html else html
            payload = shorten_payload(links, payload) if payload is not None else None
        if channel == "email" and renderer is not None and renderer.unsubscribe is not None:
            url = renderer.unsubscribe(customer.customer_id)
            payload = (payload or Payload()).model_copy(update={"list_unsubscribe": url})
        if channel in OPEN_CHANNELS and renderer is not None and renderer.opens is not None:
            html, payload = with_open_url(renderer.opens(key), channel, html, payload)
        platform = getattr(customer, "push_platform", None)
        # A number abroad (stored in E.164, "+..."): international SMS, UTF-8 allowed.
        phone = customer.phone if channel == "sms" else None
        abroad = destination(phone) if phone and phone.startswith("+") else None
        if abroad is not None:
            message_type = INTL_TYPE
        else:
            message_type = message_type_for(channel, body, subject, payload, platform)
    except (TemplateError, NotEncodable, ValueError) as exc:
        error = str(exc)
        abroad = None
    recipient = abroad[0] if abroad is not None else contact_for(customer, channel, payload)
    if channel == "dm" and error is None and recipient is None:
        error, error_code = "payload.dm: a DM needs a postal address", "E-ADDRESS"
    plain_sms = channel == "sms" and payload is None and abroad is None
    if error is None and (not plain_sms or job.purpose == "advertising"):
        # The channel's limits on the rendered message: a violation is a failed row, never
        # a lost one. A plain informational SMS/LMS is skipped (the bulk hot path, 36 us a
        # row): rendering already counted its bytes and refused what CP949 cannot carry.
        country = abroad[1] if abroad is not None else None
        error = _violations(channel, message_type, body, subject, payload, job, country)
        error_code = "E-CHECK"
    row = {
        "idempotency_key": key,
        "job_id": job.job_id,
        "customer_id": customer.customer_id,
        "channel": channel,
        "message_type": message_type,
        "provider": _TYPE_PROVIDERS.get(message_type, PROVIDERS[channel]),
        "leg": leg,
        "chain": list(chain),
        "parent_id": parent_id,
        "next_leg_id": None,
        "priority": message_priority(job.priority, channel),
        "recipient": recipient or "",
        "sender": job.sender_number,
        "provider_template_code": variant.provider_template_code,
        "subject": subject,
        "body": body,
        "html_body": html,
        "payload": payload.to_json() if payload is not None else None,
        # Domestic sends; an international leg sets the destination country.
        "country": abroad[1] if abroad is not None else None,
        "state": "failed" if error else "queued",
        "not_before": job.not_before,
        # Claims skip rows past this: a message is never sent after its job's end.
        "expires_at": job_end(job)[0],
        "lease_owner": None,
        "lease_expires_at": None,
        "attempts": 0,
        "provider_message_id": None,
        "error_code": error_code if error else None,
        "error_reason": error,
        "created_at": now,
        "updated_at": now,
        "submitted_at": None,
        "completed_at": now if error else None,
    }
    if links is not None and links.rows and error is None:
        row[LINKS_KEY] = links.rows
    return row, error


def compose(
    job: Job,
    variant: ChannelVariant,
    customer: Recipient,
    chain: list[str],
    leg: int,
    now: datetime,
    today: str,
    parent_id: int | None = None,
    parent_key: str | None = None,
    renderer: Renderer | None = None,
) -> Composed:
    """One leg as an ORM row, for the paths that create a handful (fallback, real time);
    the caller writes ``links`` with it."""
    row, error = compose_row(
        job, variant, customer, chain, leg, now, today, parent_id, parent_key, renderer
    )
    links = row.pop(LINKS_KEY, [])
    return Composed(Message(**row), error, links)
