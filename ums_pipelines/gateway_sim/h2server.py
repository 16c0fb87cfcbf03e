"""An ASGI app served by hypercorn over HTTP/2 cleartext, in its own daemon thread.

uvicorn speaks HTTP/1.1 only, and APNs is HTTP/2 only; hypercorn accepts a client's
HTTP/2 connection preface on a plain socket (h2c with prior knowledge), which is what
``httpx.AsyncClient(http1=False, http2=True)`` sends to an ``http://`` URL.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time

import httpx
from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.applications import Starlette

__all__ = ["H2Server"]


class H2Server:
    def __init__(self, app: Starlette, sock: socket.socket) -> None:
        self.app = app
        self.host, self.port = sock.getsockname()[:2]
        # hypercorn takes the descriptor over and closes it; ours stays ours to close.
        self._fd = os.dup(sock.fileno())
        sock.close()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, deadline_s: float = 15.0) -> None:
        config = Config()
        config.bind = [f"fd://{self._fd}"]
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = 2.0
        self._thread = threading.Thread(
            target=asyncio.run,
            args=(serve(self.app, config, shutdown_trigger=self._stopped),),  # type: ignore[arg-type]
            name="gateway-sim-h2",
            daemon=True,
        )
        self._thread.start()
        until = time.monotonic() + deadline_s
        while True:
            try:
                with httpx.Client(http1=False, http2=True, timeout=deadline_s) as client:
                    client.get(f"{self.base_url}/health").raise_for_status()
                return
            except httpx.TransportError:
                if not self._thread.is_alive() or time.monotonic() > until:
                    raise RuntimeError("the simulator's HTTP/2 server did not start") from None
                time.sleep(0.02)

    async def _stopped(self) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(0.05)

    def stop(self, deadline_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(deadline_s)
            self._thread = None
