"""The simulated providers' HTTP APIs as one Starlette app.

Routes: the SMS relay (``/sms``), Kakao AlimTalk (``/alimtalk``), FCM HTTP v1
(``/v1``), receipt polling (``/receipts``), the ledger (``/ledger``) and ``/health``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ums_pipelines.gateway_sim import rules
from ums_pipelines.gateway_sim.config import SimConfig
from ums_pipelines.gateway_sim.ledger import Ledger
from ums_pipelines.gateway_sim.records import CHANNELS, AcceptResult, Channel, NewMessage
from ums_pipelines.gateway_sim.wire import (
    AlimTalkBatch,
    PushRequest,
    SmsBatch,
    batch_result,
    error_field,
    fcm_error,
    has_bearer,
    page_params,
    receipt_json,
    relay_error,
    stored_json,
)

__all__ = ["FCM_MAX_BODY_BYTES", "IDEMPOTENCY_HEADER", "create_app"]

FCM_MAX_BODY_BYTES = 4096
# Real FCM has no idempotency key; the simulator takes one in this header so that a
# retried push is recorded once, as for every other channel. It is required.
IDEMPOTENCY_HEADER = "Idempotency-Key"

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
_Model = TypeVar("_Model", bound=BaseModel)
# One batch entry: either the reason it was refused or what to record.
_Decision = tuple[str, rules.Rejection | NewMessage]
_CHANNEL_HELP = f"channel must be one of {', '.join(CHANNELS)}"


def create_app(config: SimConfig, ledger: Ledger) -> Starlette:
    """Build the ASGI app; all state lives in ``ledger``, so apps can be rebuilt freely."""
    sim = _Simulator(config, ledger)
    routes = [
        Route(
            "/sms/v1/messages/batch",
            sim.provider(sim.sms_batch, fcm=False),
            methods=["POST"],
        ),
        Route(
            "/alimtalk/v2/senders/{senderKey}/messages",
            sim.provider(sim.alimtalk, fcm=False),
            methods=["POST"],
        ),
        Route(
            "/v1/projects/{project}/messages:send",
            sim.provider(sim.push, fcm=True),
            methods=["POST"],
        ),
        Route("/receipts/v1", sim.receipts, methods=["GET"]),
        Route("/ledger/v1/summary", sim.summary, methods=["GET"]),
        Route("/ledger/v1/messages", sim.messages, methods=["GET"]),
        Route("/health", _health, methods=["GET"]),
    ]
    return Starlette(routes=routes)


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


class _Simulator:
    def __init__(self, config: SimConfig, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger
        # Latency does not change any outcome, so an ordinary seeded RNG is fine here.
        self._latency_rng = random.Random(config.seed)
        # 5xx is decided per request number: a retry of a failed request gets a fresh
        # draw, as it would at a real provider, while a re-run repeats the same pattern.
        self._requests = itertools.count()

    def provider(self, handler: Handler, *, fcm: bool) -> Handler:
        """Wrap a send endpoint with latency, bearer auth and injected 503s."""

        async def endpoint(request: Request) -> Response:
            await self._delay()
            if not has_bearer(request):
                if fcm:
                    return fcm_error(401, "UNAUTHENTICATED", "Missing or invalid bearer token.")
                return relay_error(401, "E-AUTH", "missing or invalid bearer token")
            if self._unavailable():
                if fcm:
                    return fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.")
                return relay_error(503, "E-UNAVAILABLE", "service temporarily unavailable")
            return await handler(request)

        return endpoint

    async def _delay(self) -> None:
        low, high = self.config.latency_ms
        if high > 0:
            await asyncio.sleep(self._latency_rng.uniform(low, high) / 1000)

    def _unavailable(self) -> bool:
        number = next(self._requests)
        rate = self.config.error_rate_5xx
        return rate > 0 and rules.fraction(self.config.seed, "5xx", str(number)) < rate

    async def sms_batch(self, request: Request) -> Response:
        batch = await _parse(request, SmsBatch)
        if isinstance(batch, Response):
            return batch
        if len(batch.messages) > self.config.max_batch:
            return _too_many(self.config.max_batch)
        decisions: list[_Decision] = []
        for m in batch.messages:
            rejection = rules.check_sms(self.config, m.type, m.sender, m.to, m.subject, m.text)
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
                outcome=rules.handset_outcome(self.config, m.client_key),
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
        for m in batch.messages:
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
            )
            decisions.append((m.client_key, record))
        return await self._commit("alimtalk", decisions)

    async def push(self, request: Request) -> Response:
        raw = await request.body()
        if len(raw) > FCM_MAX_BODY_BYTES:
            return fcm_error(
                400,
                "INVALID_ARGUMENT",
                f"Request payload size exceeds the limit: {FCM_MAX_BODY_BYTES} bytes.",
            )
        try:
            body = PushRequest.model_validate_json(raw)
        except ValidationError as exc:
            field, problem = error_field(exc)
            return fcm_error(400, "INVALID_ARGUMENT", f"Invalid value at '{field}': {problem}")
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key:
            return fcm_error(400, "INVALID_ARGUMENT", f"Missing {IDEMPOTENCY_HEADER} header.")
        message = body.message
        if message.token.startswith("invalid"):
            return fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        project = request.path_params["project"]
        note = message.notification
        record = self._record(
            key,
            "push",
            "PUSH",
            sender=project,
            recipient=message.token,
            subject=note.title if note else None,
            body=(note.body or "") if note else "",
            outcome=rules.handset_outcome(self.config, key),
        )
        (result,) = await run_in_threadpool(self._accept, [record])
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
        )

    def _accept(self, records: Sequence[NewMessage]) -> list[AcceptResult]:
        return self.ledger.accept_many(records, receipt_delay_ms=self.config.receipt_delay_ms)

    async def _commit(self, channel: str, decisions: list[_Decision]) -> Response:
        records = [d for _, d in decisions if isinstance(d, NewMessage)]
        accepted = iter(await run_in_threadpool(self._accept, records))
        results: list[dict[str, Any]] = []
        for key, decision in decisions:
            if isinstance(decision, rules.Rejection):
                results.append(batch_result(key, None, "rejected", decision.code, decision.reason))
                continue
            done = next(accepted)
            status = "duplicate" if done.duplicate else "accepted"
            results.append(batch_result(key, done.message_id, status, None, None))
        # Counts only: recipients and texts never reach the log.
        log.debug("%s batch: %d messages, %d to record", channel, len(decisions), len(records))
        return JSONResponse({"results": results})

    async def receipts(self, request: Request) -> Response:
        await self._delay()
        channel = request.query_params.get("channel")
        if channel not in CHANNELS:
            return relay_error(400, "E-REQUEST", _CHANNEL_HELP, "channel")
        page = page_params(request)
        if isinstance(page, Response):
            return page
        after, limit = page
        found, cursor = await run_in_threadpool(self.ledger.receipts, channel, after, limit)
        return JSONResponse({"receipts": [receipt_json(r) for r in found], "next": cursor})

    async def summary(self, request: Request) -> Response:
        prefix = request.query_params.get("keyPrefix") or None
        channels = await run_in_threadpool(self.ledger.summary, prefix)
        return JSONResponse({"channels": channels})

    async def messages(self, request: Request) -> Response:
        channel = request.query_params.get("channel") or None
        if channel is not None and channel not in CHANNELS:
            return relay_error(400, "E-REQUEST", _CHANNEL_HELP, "channel")
        page = page_params(request)
        if isinstance(page, Response):
            return page
        after, limit = page
        prefix = request.query_params.get("keyPrefix") or None
        rows = await run_in_threadpool(self.ledger.messages, channel, after, limit, prefix)
        return JSONResponse(
            {"messages": [stored_json(m) for m in rows], "next": rows[-1].seq if rows else after}
        )


async def _parse(request: Request, model: type[_Model]) -> _Model | Response:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        field, problem = error_field(exc)
        return relay_error(400, "E-REQUEST", f"{field}: {problem}", field)


def _too_many(limit: int) -> Response:
    return relay_error(400, "E-REQUEST", f"at most {limit} messages per batch", "messages")
