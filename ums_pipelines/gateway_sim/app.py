"""The simulated providers' HTTP APIs as one Starlette app.

Routes: the SMS relay (``/sms``), Kakao AlimTalk (``/alimtalk``), FCM HTTP v1
(``/v1``), receipt polling (``/receipts``), status queries (``/status``, and the
relay's own ``/sms/v1/messages/...``), the ledger (``/ledger``) and ``/health``.

Each send request goes through, in order: latency, bearer auth (401), a 429 burst
window (429 + Retry-After), its fault draw (503 and nothing recorded; or a reset
before anything is recorded), the endpoint itself (which may answer 429 + Retry-After
for the provider rate limit, the whole request refused), and then, if drawn, a hang
of ``hang_ms`` before the answer (a timeout: recorded, answered late) or a reset after
recording (the ambiguous case: recorded, never answered).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ums_pipelines.gateway_sim import codes
from ums_pipelines.gateway_sim.config import Endpoint, SimConfig
from ums_pipelines.gateway_sim.dm import DmVendor
from ums_pipelines.gateway_sim.faults import Connections, FaultInjector, hang
from ums_pipelines.gateway_sim.intl import international_batch
from ums_pipelines.gateway_sim.ledger import Ledger
from ums_pipelines.gateway_sim.mms import MmsFiles
from ums_pipelines.gateway_sim.mo import MoRoutes
from ums_pipelines.gateway_sim.queries import Queries
from ums_pipelines.gateway_sim.routes_ext import kakao_rcs_routes
from ums_pipelines.gateway_sim.sends import FCM_MAX_BODY_BYTES, IDEMPOTENCY_HEADER, Sends
from ums_pipelines.gateway_sim.wire import fcm_error, has_bearer, relay_error

__all__ = ["FCM_MAX_BODY_BYTES", "IDEMPOTENCY_HEADER", "create_app"]

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


def create_app(
    config: SimConfig,
    ledger: Ledger,
    connections: Connections | None = None,
    clock: Callable[[], float] | None = None,
) -> Starlette:
    """Build the ASGI app; all state lives in ``ledger``, so apps can be rebuilt freely.

    ``connections`` (from the server) lets the app reset connections; without it a
    drawn reset is answered 500 instead. ``clock`` (monotonic seconds) drives the 429
    bursts; tests pass their own.
    """
    sends = Sends(config, ledger)
    queries = Queries(config, ledger)
    mo = MoRoutes(config, ledger)
    guard = _Guard(config, connections, clock)
    auth = guard.authorized
    routes = [
        Route("/sms/v1/messages/batch", guard.send("sms", sends.sms_batch), methods=["POST"]),
        Route(
            "/alimtalk/v2/senders/{senderKey}/messages",
            guard.send("alimtalk", sends.alimtalk),
            methods=["POST"],
        ),
        Route(
            "/v1/projects/{project}/messages:send",
            guard.send("push", sends.push),
            methods=["POST"],
        ),
        Route("/dm/v1/batches", auth(DmVendor(config, ledger).batches), methods=["POST"]),
        Route(
            "/sms/v1/international/batch",
            guard.send("sms", lambda request: international_batch(sends, request)),
            methods=["POST"],
        ),
        Route("/sms/v1/files", auth(MmsFiles(ledger).upload), methods=["POST"]),
        *kakao_rcs_routes(sends, guard.send, auth),
        Route("/sms/v1/messages/status", auth(queries.status_many), methods=["POST"]),
        Route("/sms/v1/messages/{clientKey}", auth(queries.status_one), methods=["GET"]),
        Route("/status/v1/{channel}", auth(queries.status_many), methods=["POST"]),
        Route("/status/v1/{channel}/{clientKey}", auth(queries.status_one), methods=["GET"]),
        Route("/receipts/v1", guard.delayed(queries.receipts), methods=["GET"]),
        Route("/ledger/v1/summary", queries.summary, methods=["GET"]),
        Route("/ledger/v1/messages", queries.messages, methods=["GET"]),
        Route("/ledger/v1/rate", queries.rate, methods=["GET"]),
        Route("/ledger/v1/wire/{clientKey}", queries.wire, methods=["GET"]),
        Route("/health", _health, methods=["GET"]),
        Route("/admin/v1/mo", mo.inject, methods=["POST"]),
        Route("/sms/v1/mo", auth(mo.sms_feed), methods=["GET"]),
        Route("/rcs/v1/chatbots/mo", auth(mo.rcs_feed), methods=["GET"]),
    ]
    return Starlette(routes=routes)


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


class _Guard:
    """Latency, auth and the request-level faults around the endpoints."""

    def __init__(
        self,
        config: SimConfig,
        connections: Connections | None,
        clock: Callable[[], float] | None,
    ) -> None:
        self.config = config
        self.connections = connections
        self.faults = FaultInjector(config) if clock is None else FaultInjector(config, clock)
        # Latency does not change any outcome, so an ordinary seeded RNG is fine here.
        self._latency_rng = random.Random(config.seed)

    def delayed(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            await self._delay()
            return await handler(request)

        return endpoint

    def authorized(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            await self._delay()
            if not has_bearer(request):
                return relay_error(401, codes.E_AUTH, "missing or invalid bearer token")
            return await handler(request)

        return endpoint

    def send(self, endpoint_name: Endpoint, handler: Handler) -> Handler:
        fcm = endpoint_name == "push"

        async def endpoint(request: Request) -> Response:
            await self._delay()
            if not has_bearer(request):
                if fcm:
                    return fcm_error(
                        401, codes.FCM_UNAUTHENTICATED, "Missing or invalid bearer token."
                    )
                return relay_error(401, codes.E_AUTH, "missing or invalid bearer token")
            burst = self.faults.burst_retry_after(endpoint_name)
            if burst is not None:
                if fcm:
                    return fcm_error(
                        429,
                        codes.FCM_RESOURCE_EXHAUSTED,
                        "Quota exceeded.",
                        codes.FCM_QUOTA_EXCEEDED,
                        burst,
                    )
                return relay_error(429, codes.E_RATE, "too many requests", retry_after=burst)
            fault = self.faults.draw(endpoint_name)
            if fault == "5xx":
                if fcm:
                    return fcm_error(
                        503, codes.FCM_UNAVAILABLE, "The service is currently unavailable."
                    )
                return relay_error(503, codes.E_UNAVAILABLE, "service temporarily unavailable")
            if fault == "reset_before":
                await request.body()
                return await self._reset(request, endpoint_name)
            response = await handler(request)
            if fault == "timeout":
                log.debug("%s request hangs for %d ms", endpoint_name, self._hang_ms(endpoint_name))
                await hang(request, self._hang_ms(endpoint_name) / 1000)
            elif fault == "reset_after":
                return await self._reset(request, endpoint_name)
            return response

        return endpoint

    def _hang_ms(self, endpoint: Endpoint) -> int:
        return self.config.send_faults(endpoint).hang_ms

    async def _reset(self, request: Request, endpoint: Endpoint) -> Response:
        if self.connections is not None and await self.connections.reset(request):
            log.debug("%s connection reset", endpoint)
        else:
            log.warning("%s: cannot reset this connection; answering 500", endpoint)
        # uvicorn drops whatever is sent on a connection it has seen close.
        return Response(status_code=500)

    async def _delay(self) -> None:
        low, high = self.config.latency_ms
        if high > 0:
            await asyncio.sleep(self._latency_rng.uniform(low, high) / 1000)
