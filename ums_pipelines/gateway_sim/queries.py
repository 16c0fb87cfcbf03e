"""The read side: receipt polling, status queries and the ledger's own API."""

from __future__ import annotations

import random

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ums_pipelines.gateway_sim import codes
from ums_pipelines.gateway_sim.config import SimConfig
from ums_pipelines.gateway_sim.ledger import Ledger, now_ms
from ums_pipelines.gateway_sim.records import CHANNELS
from ums_pipelines.gateway_sim.wire import (
    StatusQuery,
    error_field,
    page_params,
    rate_json,
    receipt_json,
    relay_error,
    status_json,
    stored_json,
)

__all__ = ["Queries"]

_CHANNEL_HELP = f"channel must be one of {', '.join(CHANNELS)}"
_MAX_WINDOW_MS = 86_400_000


class Queries:
    def __init__(self, config: SimConfig, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger

    async def receipts(self, request: Request) -> Response:
        channel = request.query_params.get("channel")
        if channel not in CHANNELS:
            return relay_error(400, codes.E_REQUEST, _CHANNEL_HELP, "channel")
        page = page_params(request)
        if isinstance(page, Response):
            return page
        after, limit = page
        if not self.config.receipt_faults:
            found, cursor = await run_in_threadpool(self.ledger.receipts, channel, after, limit)
            return JSONResponse({"receipts": [receipt_json(r) for r in found], "next": cursor})
        found, cursor = await run_in_threadpool(self.ledger.event_receipts, channel, after, limit)
        if self.config.receipt_reorder_rate > 0:
            # The page is a contiguous run of the feed, so the cursor is still right.
            random.Random(f"{self.config.seed}:{channel}:{after}").shuffle(found)
        return JSONResponse({"receipts": [receipt_json(r) for r in found], "next": cursor})

    async def status_one(self, request: Request) -> Response:
        channel = request.path_params.get("channel", "sms")
        if channel not in CHANNELS:
            return relay_error(404, codes.E_NOT_FOUND, _CHANNEL_HELP)
        key = request.path_params["clientKey"]
        found = await run_in_threadpool(self.ledger.lookup, channel, [key])
        if key not in found:
            return relay_error(404, codes.E_NOT_FOUND, "no accepted message has this clientKey")
        return JSONResponse(status_json(key, found[key], now_ms()))

    async def status_many(self, request: Request) -> Response:
        channel = request.path_params.get("channel", "sms")
        if channel not in CHANNELS:
            return relay_error(404, codes.E_NOT_FOUND, _CHANNEL_HELP)
        try:
            query = StatusQuery.model_validate_json(await request.body())
        except ValidationError as exc:
            field, problem = error_field(exc)
            return relay_error(400, codes.E_REQUEST, f"{field}: {problem}", field)
        keys = query.client_keys
        found = await run_in_threadpool(self.ledger.lookup, channel, keys)
        moment = now_ms()
        return JSONResponse({"results": [status_json(k, found.get(k), moment) for k in keys]})

    async def summary(self, request: Request) -> Response:
        prefix = request.query_params.get("keyPrefix") or None
        channels = await run_in_threadpool(self.ledger.summary, prefix)
        return JSONResponse({"channels": channels})

    async def messages(self, request: Request) -> Response:
        channel = request.query_params.get("channel") or None
        if channel is not None and channel not in CHANNELS:
            return relay_error(400, codes.E_REQUEST, _CHANNEL_HELP, "channel")
        page = page_params(request)
        if isinstance(page, Response):
            return page
        after, limit = page
        prefix = request.query_params.get("keyPrefix") or None
        rows = await run_in_threadpool(self.ledger.messages, channel, after, limit, prefix)
        return JSONResponse(
            {"messages": [stored_json(m) for m in rows], "next": rows[-1].seq if rows else after}
        )

    async def wire(self, request: Request) -> Response:
        """The message with this clientKey as the provider received it."""
        key = request.path_params["clientKey"]
        text = await run_in_threadpool(self.ledger.wire, key)
        if text is None:
            return relay_error(404, codes.E_NOT_FOUND, "no wire format recorded for this clientKey")
        return Response(text, media_type="application/json")

    async def rate(self, request: Request) -> Response:
        channel = request.query_params.get("channel")
        if channel not in CHANNELS:
            return relay_error(400, codes.E_REQUEST, _CHANNEL_HELP, "channel")
        raw = request.query_params.get("window_ms", "1000")
        window = int(raw) if raw.isdigit() else 0
        if not 1 <= window <= _MAX_WINDOW_MS:
            return relay_error(
                400, codes.E_REQUEST, f"window_ms must be 1..{_MAX_WINDOW_MS}", "window_ms"
            )
        prefix = request.query_params.get("keyPrefix") or None
        found = await run_in_threadpool(self.ledger.rate, channel, window, prefix)
        return JSONResponse(rate_json(channel, window, found))
