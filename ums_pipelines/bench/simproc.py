"""The gateway simulator as a separate process (``ums gateway-sim``), so that its work
never shares the benchmarked process's GIL, and the ledger queries the bench needs."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

__all__ = ["BENCH_SIM_CONFIG", "SimProcess", "free_port", "max_in_window"]

# No latency and no failures: the bench measures our overhead, not the network's.
# Receipts are due after an hour, so no receipt traffic mixes into the send figures:
# a scenario ends when every message is accepted by the gateway (DESIGN §7 note in
# docs/benchmarks.md). The simulator itself is never rate limited; rate_limited
# configures our own limiter and reads the overshoot from the ledger.
BENCH_SIM_CONFIG: dict[str, Any] = {
    "latency_ms": [0, 0],
    "failure_rate": 0.0,
    "kakao_non_user_rate": 0.0,
    "receipt_delay_ms": 3_600_000,
    "max_batch": 1000,
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SimProcess:
    """``ums gateway-sim`` in a child process with a ledger file under ``workdir``."""

    def __init__(self, workdir: Path, config: dict[str, Any] | None = None) -> None:
        self.workdir = workdir
        self.config = dict(BENCH_SIM_CONFIG if config is None else config)
        self.port = free_port()
        self.smtp_port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SimProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_file = self.workdir / "sim-config.json"
        config_file.write_text(json.dumps(self.config), encoding="utf-8")
        ledger = self.workdir / "sim-ledger.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{ledger}{suffix}").unlink(missing_ok=True)
        command = [
            sys.executable,
            "-c",
            "from ums_pipelines.cli import main; main()",
            "gateway-sim",
            "--port",
            str(self.port),
            "--smtp-port",
            str(self.smtp_port),
            "--ledger",
            str(ledger),
            "--config",
            str(config_file),
        ]
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError("the gateway simulator exited during start-up")
            try:
                httpx.get(f"{self.base_url}/health", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError("the gateway simulator did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def max_in_window(base_url: str, channel: str, key_prefix: str, window_ms: int = 1000) -> int:
    """The most messages of ``key_prefix`` the gateway accepted in any sliding window."""
    response = httpx.get(
        f"{base_url}/ledger/v1/rate",
        params={"channel": channel, "window_ms": window_ms, "keyPrefix": key_prefix},
        timeout=120,
    )
    response.raise_for_status()
    return int(response.json()["maxInWindow"])
