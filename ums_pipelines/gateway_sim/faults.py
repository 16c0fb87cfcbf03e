"""Request-level faults of the send endpoints: 5xx, timeouts, resets and 429 bursts.

A connection reset needs the socket, which an ASGI app never sees: ``Connections``
supplies uvicorn with a protocol class that records each open connection's transport
by peer address (the ASGI scope's ``client``), so the app can abort the one its
request came on. The abort sets SO_LINGER to 0 first, so the peer gets a TCP RST and
no HTTP response at all; httpx raises a transport error (``httpx.ReadError`` or
``httpx.RemoteProtocolError``), never a status code.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import socket
import struct
import time
from collections.abc import Callable
from typing import Any, Literal, get_args

from starlette.requests import Request
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from ums_pipelines.gateway_sim.config import Endpoint, SimConfig
from ums_pipelines.gateway_sim.rules import fraction

__all__ = ["Connections", "Fault", "FaultInjector", "hang"]

Fault = Literal["none", "5xx", "timeout", "reset_before", "reset_after"]
_Peer = tuple[str, int]


class FaultInjector:
    """Decides each send request's fault; shares are exact per endpoint and seed."""

    def __init__(self, config: SimConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._started = clock()
        # One counter per endpoint: a retry is a new request and gets a fresh draw,
        # while a re-run of the same traffic repeats the same pattern.
        self._numbers = {e: itertools.count() for e in get_args(Endpoint)}

    def draw(self, endpoint: Endpoint) -> Fault:
        faults = self.config.send_faults(endpoint)
        number = str(next(self._numbers[endpoint]))
        seed = self.config.seed
        value = fraction(seed, f"fault:{endpoint}", number)
        if value < faults.error_rate_5xx:
            return "5xx"
        if value < faults.error_rate_5xx + faults.timeout_rate:
            return "timeout"
        if value < faults.error_rate_5xx + faults.timeout_rate + faults.reset_rate:
            accepts = faults.reset_accepts
            if accepts == "half":
                half = fraction(seed, f"reset-accepts:{endpoint}", number) < 0.5
                accepts = "always" if half else "never"
            return "reset_after" if accepts == "always" else "reset_before"
        return "none"

    def burst_retry_after(self, endpoint: Endpoint) -> int | None:
        """Seconds until the current 429 burst ends, or None outside a burst.

        Bursts start at [0, duration) of every period, counted from the simulator's start.
        """
        faults = self.config.send_faults(endpoint)
        if faults.burst_period_s <= 0 or faults.burst_duration_s <= 0:
            return None
        phase = (self._clock() - self._started) % faults.burst_period_s
        if phase >= faults.burst_duration_s:
            return None
        return max(1, math.ceil(faults.burst_duration_s - phase))


async def hang(request: Request, seconds: float) -> None:
    """Wait ``seconds`` before answering, or less if the client has given up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(left, 0.05))


class Connections:
    """Open HTTP connections by peer address, so that a request can be reset."""

    def __init__(self) -> None:
        self._open: dict[_Peer, asyncio.Transport] = {}

    def protocol_class(self) -> type[asyncio.Protocol]:
        """uvicorn's own HTTP protocol, registering its transports here."""
        registry = self._open

        class Tracked(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
            def connection_made(self, transport: asyncio.Transport) -> None:
                super().connection_made(transport)
                if self.client is not None:
                    registry[self.client] = transport

            def connection_lost(self, exc: Exception | None) -> None:
                if self.client is not None and registry.get(self.client) is self.transport:
                    del registry[self.client]
                super().connection_lost(exc)

        return Tracked

    async def reset(self, request: Request) -> bool:
        """Abort the request's connection with a TCP RST; False if it is unknown."""
        client: Any = request.scope.get("client")
        transport = self._open.get((str(client[0]), int(client[1]))) if client else None
        if transport is None:
            return False
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        # Let uvicorn see the connection go, so it does not try to answer with a 500.
        for _ in range(100):
            if await request.is_disconnected():
                break
            await asyncio.sleep(0)
        return True
