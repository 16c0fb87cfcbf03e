"""Run the simulator: HTTP (uvicorn) and SMTP (aiosmtpd), each in its own daemon thread."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from aiosmtpd.controller import Controller

from ums_pipelines.gateway_sim.apns import create_apns_app
from ums_pipelines.gateway_sim.app import create_app
from ums_pipelines.gateway_sim.config import SimConfig
from ums_pipelines.gateway_sim.faults import Connections
from ums_pipelines.gateway_sim.h2server import H2Server
from ums_pipelines.gateway_sim.ledger import Ledger
from ums_pipelines.gateway_sim.smtp import LedgerSmtpHandler

__all__ = ["GatewaySimulator", "serve_forever"]

log = logging.getLogger(__name__)

_STARTUP_DEADLINE_S = 15.0
_SHUTDOWN_DEADLINE_S = 10.0


class GatewaySimulator:
    """Both simulated gateways on loopback, sharing one ledger.

    Port 0 picks a free port; the chosen ones are in ``port`` and ``smtp_port`` once
    ``start()`` has returned, which it does only after both servers have answered.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        smtp_port: int = 0,
        ledger_path: Path | None = None,
        apns_port: int = 0,
    ) -> None:
        self.config = config if config is not None else SimConfig()
        self._apns_requested = apns_port
        self._apns: H2Server | None = None
        self.host = host
        self._requested = (port, smtp_port)
        self.ledger_path = ledger_path
        self._ledger: Ledger | None = None
        self._http: uvicorn.Server | None = None
        self._http_thread: threading.Thread | None = None
        self._smtp: _BoundController | None = None
        self._ports: tuple[int, int] | None = None

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            raise RuntimeError("the simulator is not running")
        return self._ledger

    @property
    def port(self) -> int:
        return self._running_ports()[0]

    @property
    def smtp_port(self) -> int:
        return self._running_ports()[1]

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def apns_url(self) -> str:
        """The APNs provider API, HTTP/2 only (its own port: uvicorn has no HTTP/2)."""
        if self._apns is None:
            raise RuntimeError("the simulator is not running")
        return self._apns.base_url

    def _running_ports(self) -> tuple[int, int]:
        if self._ports is None:
            raise RuntimeError("the simulator is not running")
        return self._ports

    def start(self) -> GatewaySimulator:
        if self._ports is not None:
            raise RuntimeError("the simulator is already running")
        _quiet_smtp_log()
        self._ledger = Ledger(self.ledger_path)
        try:
            self._start_servers()
        except BaseException:
            self.stop()
            raise
        log.info("gateway simulator on %s, SMTP port %d", self.base_url, self.smtp_port)
        return self

    def _start_servers(self) -> None:
        http_sock = _listen(self.host, self._requested[0])
        try:
            smtp_sock = _listen(self.host, self._requested[1])
        except BaseException:
            http_sock.close()
            raise
        self._ports = (http_sock.getsockname()[1], smtp_sock.getsockname()[1])
        connections = Connections()
        app = create_app(self.config, self.ledger, connections)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                # uvicorn's own protocol, tracking transports so a request can be reset.
                http=connections.protocol_class(),
                log_level="warning",
                access_log=False,
                # Leave the host application's logging configuration alone.
                log_config=None,
                lifespan="off",
                timeout_graceful_shutdown=5,
            )
        )
        self._http = server
        self._http_thread = threading.Thread(
            target=server.run, kwargs={"sockets": [http_sock]}, name="gateway-sim-http", daemon=True
        )
        self._http_thread.start()
        self._smtp = _BoundController(
            LedgerSmtpHandler(self.config, self.ledger),
            smtp_sock,
            hostname=self.host,
            # Without it aiosmtpd resolves the machine's FQDN, which can take seconds.
            server_hostname="gateway-sim.local",
            ready_timeout=_STARTUP_DEADLINE_S,
        )
        # Returns once the SMTP server has sent its greeting to a test connection.
        self._smtp.start()
        self._wait_for_http(server, self._http_thread)
        self._apns = H2Server(
            create_apns_app(self.config, self.ledger), _listen(self.host, self._apns_requested)
        )
        self._apns.start(_STARTUP_DEADLINE_S)

    def _wait_for_http(self, server: uvicorn.Server, thread: threading.Thread) -> None:
        deadline = time.monotonic() + _STARTUP_DEADLINE_S
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the simulator's HTTP server stopped during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError("the simulator's HTTP server did not start")
            time.sleep(0.005)
        httpx.get(f"{self.base_url}/health", timeout=_STARTUP_DEADLINE_S).raise_for_status()

    def stop(self) -> None:
        """Stop the servers and close the ledger; safe to call more than once."""
        if self._apns is not None:
            self._apns.stop(_SHUTDOWN_DEADLINE_S)
            self._apns = None
        if self._smtp is not None:
            self._smtp.stop(no_assert=True)
            self._smtp = None
        if self._http is not None:
            self._http.should_exit = True
            if self._http_thread is not None:
                self._http_thread.join(_SHUTDOWN_DEADLINE_S)
            self._http = None
            self._http_thread = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        self._ports = None

    def __enter__(self) -> GatewaySimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(
    config: SimConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8900,
    smtp_port: int = 8925,
    ledger_path: Path | None = None,
    on_ready: Callable[[GatewaySimulator], None] | None = None,
    apns_port: int | None = None,
) -> None:
    """Run the simulator until Ctrl-C; ``on_ready`` is called once all servers answer.
    APNs listens on ``apns_port``, by default ``port + 2`` (8902 beside 8900)."""
    apns = port + 2 if apns_port is None and port else apns_port or 0
    with GatewaySimulator(config, host, port, smtp_port, ledger_path, apns) as sim:
        if on_ready is not None:
            on_ready(sim)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            log.info("gateway simulator stopping")


class _BoundController(Controller):
    """An aiosmtpd Controller serving on a socket we bound ourselves.

    The stock Controller binds by port number and then connects to that same number to
    check it is up, which cannot work with port 0; binding first tells us the real port.
    """

    def __init__(self, handler: LedgerSmtpHandler, sock: socket.socket, **kwargs: Any) -> None:
        self._sock = sock
        kwargs["port"] = sock.getsockname()[1]
        super().__init__(handler, **kwargs)

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        loop: asyncio.AbstractEventLoop = self.loop
        return loop.create_server(self._factory_invoker, sock=self._sock)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # create_server sets SO_REUSEADDR, so a restart on a fixed port is not refused.
    return socket.create_server((host, port), family=family)


def _quiet_smtp_log() -> None:
    # aiosmtpd logs every envelope sender and recipient at INFO; addresses are personal
    # data, so its log stays at WARNING unless someone deliberately asked for more.
    mail_log = logging.getLogger("mail.log")
    if mail_log.level == logging.NOTSET:
        mail_log.setLevel(logging.WARNING)
