"""Real-time intake: single messages submitted by other systems, idempotent on their key.

A request names a template (sent under that template's standing job, created on first
use) or an existing job, a customer and a lane. Its ``send_requests`` row and its first
outbox leg are written in ONE transaction, so a request is never recorded without its
message nor a message queued without its request; the same (caller, caller_key) again
returns the first answer and writes nothing. Send agents (``dispatch/agent.py``) pick
the leg up like any other outbox row, highest lane first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ums_pipelines.compliance import adrules, brandlimit, frequency
from ums_pipelines.compliance.gate import ApprovalRequired, require_approved
from ums_pipelines.content.plan import renderer_for, write_links
from ums_pipelines.content.render import take_links
from ums_pipelines.dispatch.compose import compose_row, request_key
from ums_pipelines.dispatch.outbox import fall_back
from ums_pipelines.dispatch.standing import IntakeError, parse_lane, standing_job
from ums_pipelines.jobs import JobError, check_params, param_fields, template_variants
from ums_pipelines.lanes import CHANNELS, Lane, Purpose, message_priority
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, as_utc, urgent, utcnow
from ums_pipelines.store.models import Customer, Job, Message
from ums_pipelines.store.sendplane import SendRequest
from ums_pipelines.targets import contact_for

__all__ = ["IntakeError", "SubmitResult", "request_latencies", "submit"]

_CLOSED = ("cancelled", "stopped", "done")


@dataclass(frozen=True)
class SubmitResult:
    request_id: int
    created: bool  # False: the caller key was seen before and nothing was written
    state: str  # queued | rejected
    job_id: str
    message_id: int | None
    error: str | None


def _route(
    session: Session,
    settings: Settings,
    job: Job,
    customer: Customer | None,
    chain: Sequence[str] | None,
) -> tuple[list[str], str | None]:
    """The channels this customer may be reached on, or why none (policy, not an error)."""
    if customer is None:
        return [], "customer_id: unknown customer"
    if customer.deceased:
        return [], "customer_id: customer is deceased"
    routes: dict[str, list[str]] = job.routes
    wanted = list(chain) if chain else routes.get(customer.preferred_channel or "")
    wanted = wanted or routes.get("default") or []
    if not wanted:
        return [], "chain: the job has no route for this customer"
    # The same consent rules as target extraction (an advertising consent's age, the
    # transaction exception).
    consented, why = adrules.intake_channels(
        session, settings, job, customer.customer_id, wanted, utcnow()
    )
    if why is not None:
        return [], why
    # A letter's address comes with its content (payload.dm), as in target extraction:
    # compose fails a DM leg that has none, with the reason, and the chain goes on.
    reachable = [c for c in consented if c == "dm" or contact_for(customer, c)]
    if not reachable:
        return [], f"chain: no contact address for {', '.join(consented)}"
    return reachable, None


def _result(request: SendRequest, created: bool) -> SubmitResult:
    return SubmitResult(
        request.id, created, request.state, request.job_id, request.message_id, request.error
    )


def _existing(store: Store, caller: str, caller_key: str) -> SubmitResult | None:
    with store.session() as session:
        request = session.scalars(
            select(SendRequest).where(
                SendRequest.caller == caller, SendRequest.caller_key == caller_key
            )
        ).first()
        return _result(request, False) if request is not None else None


def _check(
    caller: str,
    caller_key: str,
    customer_id: str,
    variables: Mapping[str, Any] | None,
    chain: Sequence[str] | None,
) -> None:
    for name, value, limit in (
        ("caller", caller, 64),
        ("caller_key", caller_key, 128),
        ("customer_id", customer_id, 32),
    ):
        if not isinstance(value, str) or not value.strip():
            raise IntakeError(f"{name}: required, a non-empty string")
        if len(value) > limit:
            raise IntakeError(f"{name}: longer than {limit} characters")
    if variables is not None and not isinstance(variables, Mapping):
        raise IntakeError("variables: must be an object of name -> value")
    if chain is not None:
        if isinstance(chain, str) or not chain:
            raise IntakeError("chain: must be a non-empty list of channels")
        unknown = [c for c in chain if c not in CHANNELS]
        if unknown:
            raise IntakeError(f"chain: unknown channel(s) {', '.join(map(str, unknown))}")


def submit(
    store: Store,
    settings: Settings,
    *,
    caller: str,
    caller_key: str,
    customer_id: str,
    template_code: str | None = None,
    job_id: str | None = None,
    variables: Mapping[str, Any] | None = None,
    lane: Lane | int | str | None = None,
    chain: Sequence[str] | None = None,
    sender_number: str | None = None,
) -> SubmitResult:
    """Accept one real-time message; the same (caller, caller_key) again writes nothing."""
    with urgent():
        return _submit(
            store, settings, caller, caller_key, customer_id, template_code, job_id,
            variables, lane, chain, sender_number,
        )  # fmt: skip


def _submit(
    store: Store,
    settings: Settings,
    caller: str,
    caller_key: str,
    customer_id: str,
    template_code: str | None,
    job_id: str | None,
    variables: Mapping[str, Any] | None,
    lane: Lane | int | str | None,
    chain: Sequence[str] | None,
    sender_number: str | None,
) -> SubmitResult:
    _check(caller, caller_key, customer_id, variables, chain)
    seen = _existing(store, caller, caller_key)
    if seen is not None:
        return seen
    wanted_lane = parse_lane(lane) if lane is not None else None
    if job_id is None:
        if not template_code:
            raise IntakeError("template_code: either template_code or job_id is required")
        job_id = standing_job(store, template_code, wanted_lane, sender_number)
    try:
        with store.session() as session:
            return _write(
                session, settings, caller, caller_key, job_id, customer_id,
                dict(variables or {}), wanted_lane, chain,
            )  # fmt: skip
    except IntegrityError:
        # The same key submitted concurrently: the other transaction won, its answer stands.
        seen = _existing(store, caller, caller_key)
        if seen is None:
            raise
        return seen


def _write(
    session: Session,
    settings: Settings,
    caller: str,
    caller_key: str,
    job_id: str,
    customer_id: str,
    variables: dict[str, Any],
    lane: Lane | None,
    chain: Sequence[str] | None,
) -> SubmitResult:
    job = session.get(Job, job_id)
    if job is None:
        raise IntakeError(f"job_id: no job {job_id!r}")
    if job.status in _CLOSED:
        raise IntakeError(f"job_id: job {job_id!r} is {job.status}")
    if job.purpose == Purpose.ADVERTISING.value:
        # Real-time advertising goes out only under the department head's approval.
        try:
            require_approved(session, settings, job)
        except ApprovalRequired as exc:
            raise IntakeError(f"job_id: {exc}") from None
    lane = lane if lane is not None else Lane(job.priority)
    now = utcnow()
    # The request's values for the content's job variables (an amount, a balance...):
    # checked now, so an unknown or missing one is the caller's error, not a failed send.
    wanted = param_fields(session, job.template_id, job.template_version)
    try:
        values = check_params(wanted, {**(job.params or {}), **variables}, "variables")
    except JobError as exc:
        raise IntakeError(str(exc)) from None
    customer = session.get(Customer, customer_id)
    if chain is not None:
        variants = template_variants(session, job.template_id, job.template_version)
        missing = [c for c in chain if c not in variants]
        if missing:
            raise IntakeError(f"chain: the template has no {', '.join(missing)} variant")
    route, reason = _route(session, settings, job, customer, chain)
    request = SendRequest(
        caller=caller,
        caller_key=caller_key,
        job_id=job_id,
        customer_id=customer_id,
        variables=variables,
        lane=int(lane),
        state="rejected" if reason else "queued",
        error=reason,
        received_at=now,
    )
    session.add(request)
    if reason is None:
        assert customer is not None
        variants = template_variants(session, job.template_id, job.template_version)
        today = now.astimezone(settings.tz).strftime("%Y-%m-%d")
        renderer = renderer_for(session, settings, job, now).with_params(values)
        key = request_key(job_id, caller, caller_key, 0)
        row, _ = compose_row(
            job, variants[route[0]], customer, route, 0, now, today, renderer=renderer, key=key
        )
        row["priority"] = message_priority(lane, route[0])
        brandlimit.gate_rows(session, settings, [row], {job_id: job.purpose}, now)
        frequency.count_rows(session, settings, [row], {job_id: job.purpose}, now)
        links = take_links([row])
        message = Message(**row)
        session.add(message)
        session.flush()
        write_links(session, links)
        request.message_id = message.id
        if message.state == "failed":
            # Not renderable on its first channel (or a brand message over the day's
            # limit): the chain goes on at once.
            fall_back(session, settings, message)
    session.flush()
    return _result(request, True)


def request_latencies(
    store: Store, since: datetime | None = None, job_ids: Sequence[str] | None = None
) -> list[float]:
    """Milliseconds from each request's arrival to its first leg's provider acceptance
    (``submitted_at``), for requests whose first leg was accepted; unordered."""
    query = (
        select(SendRequest.received_at, Message.submitted_at)
        .join(Message, Message.id == SendRequest.message_id)
        .where(Message.submitted_at.is_not(None))
    )
    if since is not None:
        query = query.where(SendRequest.received_at >= since)
    if job_ids is not None:
        query = query.where(SendRequest.job_id.in_(list(job_ids)))
    with store.session() as session:
        rows = session.execute(query).all()
    return [
        (as_utc(submitted) - as_utc(received)).total_seconds() * 1000.0
        for received, submitted in rows
        if submitted is not None
    ]
