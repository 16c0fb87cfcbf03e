"""The send endpoints' bodies: SMS relay batch, AlimTalk batch and FCM v1 push.

``app.py`` wraps each in latency, auth and the request-level faults; what is here
validates, decides each message's fate and records it, within the rate limit.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ums_pipelines.gateway_sim import codes, rules
from ums_pipelines.gateway_sim.config import Endpoint, SimConfig
from ums_pipelines.gateway_sim.feed import RateLimit, RateLimited
from ums_pipelines.gateway_sim.ledger import Ledger
from ums_pipelines.gateway_sim.mms import check_mms
from ums_pipelines.gateway_sim.records import AcceptResult, Channel, NewMessage
from ums_pipelines.gateway_sim.wire import (
    AlimTalkBatch,
    PushRequest,
    SmsBatch,
    batch_result,
    error_field,
    fcm_error,
    relay_error,
)

__all__ = ["FCM_MAX_BODY_BYTES", "IDEMPOTENCY_HEADER", "Sends", "raw_messages"]

FCM_MAX_BODY_BYTES = 4096
# Real FCM has no idempotency key; the simulator takes one in this header so that a
# retried push is recorded once, as for every other channel. It is required.
IDEMPOTENCY_HEADER = "Idempotency-Key"

log = logging.getLogger(__name__)

_Model = TypeVar("_Model", bound=BaseModel)
# One batch entry: either the reason it was refused or what to record.
_Decision = tuple[str, rules.Rejection | NewMessage]


class Sends:
    def __init__(self, config: SimConfig, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger

    async def sms_batch(self, request: Request) -> Response:
        batch = await _parse(request, SmsBatch)
        if isinstance(batch, Response):
            return batch
        if len(batch.messages) > self.config.max_batch:
            return _too_many(self.config.max_batch)
        decisions: list[_Decision] = []
        raw = await raw_messages(request)
        for i, m in enumerate(batch.messages):
            rejection = rules.check_sms(self.config, m.type, m.sender, m.to, m.subject, m.text)
            if rejection is None and m.type == "MMS":
                rejection = check_mms(self.ledger, m.file_ids)
            if rejection is not None:
                decisions.append((m.client_key, rejection))
                log.debug("sms rejected %s for %s", rejection.code, rules.mask_phone(m.to))
                continue
            record = self._record(
                m.client_key,
                "sms",
                m.type,
                sender=m.sender,
                recipient=m.to,
                subject=m.subject or None,
                body=m.text,
                outcome=rules.relay_outcome(self.config, m.client_key),
                wire=json.dumps(raw[i], ensure_ascii=False),
            )
            decisions.append((m.client_key, record))
        return await self._commit("sms", decisions)

    async def alimtalk(self, request: Request) -> Response:
        batch = await _parse(request, AlimTalkBatch)
        if isinstance(batch, Response):
            return batch
        if len(batch.messages) > self.config.max_batch:
            return _too_many(self.config.max_batch)
        sender_key = request.path_params["senderKey"]
        decisions: list[_Decision] = []
        raw = await raw_messages(request)
        for i, m in enumerate(batch.messages):
            rejection = rules.check_alimtalk(m.to, m.text, len(m.buttons or ()))
            if rejection is not None:
                decisions.append((m.client_key, rejection))
                log.debug("alimtalk rejected %s for %s", rejection.code, rules.mask_phone(m.to))
                continue
            record = self._record(
                m.client_key,
                "alimtalk",
                "ALIMTALK",
                sender=sender_key,
                recipient=m.to,
                # The ledger has no template column; the subject slot holds the template.
                subject=batch.template_code,
                body=m.text,
                outcome=rules.alimtalk_outcome(self.config, m.client_key, m.to),
                wire=json.dumps(
                    {"templateCode": batch.template_code, **raw[i]}, ensure_ascii=False
                ),
            )
            decisions.append((m.client_key, record))
        return await self._commit("alimtalk", decisions)

    async def push(self, request: Request) -> Response:
        raw = await request.body()
        if len(raw) > FCM_MAX_BODY_BYTES:
            return fcm_error(
                400,
                codes.FCM_INVALID_ARGUMENT,
                f"Request payload size exceeds the limit: {FCM_MAX_BODY_BYTES} bytes.",
            )
        try:
            body = PushRequest.model_validate_json(raw)
        except ValidationError as exc:
            field, problem = error_field(exc)
            return fcm_error(
                400, codes.FCM_INVALID_ARGUMENT, f"Invalid value at '{field}': {problem}"
            )
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key:
            return fcm_error(
                400, codes.FCM_INVALID_ARGUMENT, f"Missing {IDEMPOTENCY_HEADER} header."
            )
        message = body.message
        if message.token.startswith("invalid"):
            return fcm_error(
                404, codes.FCM_NOT_FOUND, "Requested entity was not found.", codes.FCM_UNREGISTERED
            )
        project = request.path_params["project"]
        note = message.notification
        record = self._record(
            key,
            "push",
            "FCM",
            sender=project,
            recipient=message.token,
            subject=note.title if note else None,
            body=(note.body or "") if note else "",
            outcome=rules.handset_outcome(self.config, key, "push"),
            wire=raw.decode(),
        )
        accepted = await self._accept("push", [record], 1)
        if isinstance(accepted, Response):
            return accepted
        (result,) = accepted
        log.debug("push %s", "duplicate" if result.duplicate else "accepted")
        return JSONResponse({"name": f"projects/{project}/messages/{result.message_id}"})

    def _record(
        self,
        key: str,
        channel: Channel,
        kind: str,
        *,
        sender: str,
        recipient: str,
        subject: str | None,
        body: str,
        outcome: rules.Outcome,
        wire: str | None = None,
    ) -> NewMessage:
        return NewMessage(
            client_key=key,
            message_id=rules.message_id(self.config.seed, channel, key),
            channel=channel,
            type=kind,
            sender=sender,
            recipient=recipient,
            subject=subject,
            body=body,
            outcome="delivered" if outcome.delivered else "failed",
            code=outcome.code,
            reason=outcome.reason,
            wire=wire,
        )

    async def _accept(
        self, endpoint: Endpoint, records: Sequence[NewMessage], count: int
    ) -> list[AcceptResult] | Response:
        """Record, or the 429 (or 400) of the rate limit; ``count``: messages requested."""
        per_second = self.config.rate_limits.get(endpoint)
        limit = None if per_second is None else RateLimit(endpoint, per_second, count)
        if per_second is not None and count > per_second:
            # It would never fit: say so rather than send the client round forever.
            text = f"{count} messages exceed the rate limit of {per_second:g}/s"
            if endpoint == "push":
                return fcm_error(400, codes.FCM_INVALID_ARGUMENT, text)
            return relay_error(400, codes.E_RATE, f"{text}; send smaller batches", "messages")
        try:
            return await run_in_threadpool(self.ledger.accept, self.config, records, limit)
        except RateLimited as exc:
            wait = max(1, math.ceil(exc.retry_after_ms / 1000))
            log.debug("%s rate limited for %d ms", endpoint, exc.retry_after_ms)
            if endpoint == "push":
                return fcm_error(
                    429,
                    codes.FCM_RESOURCE_EXHAUSTED,
                    "Quota exceeded.",
                    codes.FCM_QUOTA_EXCEEDED,
                    wait,
                )
            return relay_error(429, codes.E_RATE, "rate limit exceeded", retry_after=wait)

    async def _commit(self, endpoint: Endpoint, decisions: list[_Decision]) -> Response:
        records = [d for _, d in decisions if isinstance(d, NewMessage)]
        accepted_list = await self._accept(endpoint, records, len(decisions))
        if isinstance(accepted_list, Response):
            return accepted_list
        accepted = iter(accepted_list)
        results: list[dict[str, Any]] = []
        for key, decision in decisions:
            if isinstance(decision, rules.Rejection):
                results.append(batch_result(key, None, "rejected", decision.code, decision.reason))
                continue
            done = next(accepted)
            status = "duplicate" if done.duplicate else "accepted"
            results.append(batch_result(key, done.message_id, status, None, None))
        # Counts only: recipients and texts never reach the log.
        log.debug("%s batch: %d messages, %d to record", endpoint, len(decisions), len(records))
        return JSONResponse({"results": results})


async def raw_messages(request: Request) -> list[dict[str, Any]]:
    """A parsed batch's messages as the client sent them, unknown fields included: what
    the ledger keeps as each message's wire format (the body is read once, cached)."""
    messages: list[dict[str, Any]] = json.loads(await request.body())["messages"]
    return messages


async def _parse(request: Request, model: type[_Model]) -> _Model | Response:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        field, problem = error_field(exc)
        return relay_error(400, codes.E_REQUEST, f"{field}: {problem}", field)


def _too_many(limit: int) -> Response:
    return relay_error(400, codes.E_REQUEST, f"at most {limit} messages per batch", "messages")
