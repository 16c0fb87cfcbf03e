"""Circuit breaker per provider, shared by every sender through the operational store.

closed --K consecutive failures--> open --cool-down over--> half_open (``probe_batch``
senders may send) --a success--> closed; --a failure--> open again.

A sender asks ``allow(provider)`` before each request and reports ``record(provider,
ok)`` after it. When ``allow`` says no it sends nothing and leaves its messages queued
(or releases their lease): the messages wait, they do not fail.

The hot path costs no round trip: while the breaker is closed with no failures counted,
``allow`` and a successful ``record`` answer from a local snapshot that is at most
``cache_ttl_s`` old; while it is open, ``allow`` answers no from the snapshot until the
cool-down ends. So another sender's opening is seen within ``cache_ttl_s``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from ums_pipelines.dispatch._rows import Clock, to_ns, upsert
from ums_pipelines.store.engine import Store, utcnow
from ums_pipelines.store.models import ProviderCircuit

__all__ = ["CLOSED", "HALF_OPEN", "OPEN", "CircuitBreaker", "CircuitSnapshot"]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
_T: Table = ProviderCircuit.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class CircuitSnapshot:
    state: str
    failures: int
    open_until_ns: int
    read_at: float  # time.monotonic() of the read


class CircuitBreaker:
    def __init__(
        self,
        store: Store,
        clock: Clock = time.time,
        *,
        failure_threshold: int = 5,
        cool_down_s: float = 30.0,
        probe_batch: int = 1,
        probe_timeout_s: float | None = None,
        cache_ttl_s: float = 1.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.failure_threshold = failure_threshold
        self.cool_down_s = cool_down_s
        self.probe_batch = probe_batch
        # A probe whose sender died never reports: after this, another round may probe.
        self.probe_timeout_s = cool_down_s if probe_timeout_s is None else probe_timeout_s
        self.cache_ttl_s = cache_ttl_s
        self._cache: dict[str, CircuitSnapshot] = {}

    def _fresh(self, provider: str) -> CircuitSnapshot | None:
        snap = self._cache.get(provider)
        if snap is None or time.monotonic() - snap.read_at > self.cache_ttl_s:
            return None
        return snap

    def _locked(self, s: Session, provider: str) -> dict[str, int | str]:
        stmt = select(_T).where(_T.c.provider == provider).with_for_update()
        row = s.execute(stmt).one_or_none()
        if row is None:
            fresh = {
                "provider": provider,
                "state": CLOSED,
                "failures": 0,
                "open_until_ns": 0,
                "probes": 0,
                "probe_round_ns": 0,
                "times_opened": 0,
                "updated_at": utcnow(),
            }
            upsert(s, _T, fresh)
            row = s.execute(stmt).one()
        return dict(row._mapping)

    def _save(self, s: Session, provider: str, row: dict[str, int | str], **values: object) -> None:
        row.update(values)  # type: ignore[arg-type]
        s.execute(update(_T).where(_T.c.provider == provider).values(**values, updated_at=utcnow()))

    def _remember(self, provider: str, row: dict[str, int | str]) -> None:
        self._cache[provider] = CircuitSnapshot(
            str(row["state"]), int(row["failures"]), int(row["open_until_ns"]), time.monotonic()
        )

    def allow(self, provider: str) -> bool:
        """May a request go to ``provider`` now? In half-open, ``True`` makes it a probe."""
        snap = self._fresh(provider)
        if snap is not None and snap.state == CLOSED:
            return True
        if snap is not None and snap.state == OPEN and to_ns(self.clock()) < snap.open_until_ns:
            return False
        with self.store.session() as s:
            row = self._locked(s, provider)
            now = to_ns(self.clock())
            ok = True
            if row["state"] == OPEN:
                if now < int(row["open_until_ns"]):
                    ok = False
                else:
                    self._save(s, provider, row, state=HALF_OPEN, probes=1, probe_round_ns=now)
            elif row["state"] == HALF_OPEN:
                if int(row["probes"]) < self.probe_batch:
                    self._save(s, provider, row, probes=int(row["probes"]) + 1)
                elif now - int(row["probe_round_ns"]) >= to_ns(self.probe_timeout_s):
                    self._save(s, provider, row, probes=1, probe_round_ns=now)
                else:
                    ok = False
        self._remember(provider, row)
        return ok

    def record(self, provider: str, ok: bool) -> None:
        """Report the outcome of one request (transport error, 5xx, timeout = not ok)."""
        snap = self._fresh(provider)
        if ok and snap is not None and snap.state == CLOSED and snap.failures == 0:
            return
        with self.store.session() as s:
            row = self._locked(s, provider)
            now = to_ns(self.clock())
            state = row["state"]
            if ok and state == HALF_OPEN:
                self._save(s, provider, row, state=CLOSED, failures=0, probes=0)
            elif ok and state == CLOSED and int(row["failures"]):
                self._save(s, provider, row, failures=0)
            elif not ok and state == HALF_OPEN:
                self._open(s, provider, row, now)
            elif not ok and state == CLOSED:
                failures = int(row["failures"]) + 1
                if failures >= self.failure_threshold:
                    self._open(s, provider, row, now)
                else:
                    self._save(s, provider, row, failures=failures)
            # In OPEN, late outcomes of requests sent before it opened change nothing.
        self._remember(provider, row)

    def _open(self, s: Session, provider: str, row: dict[str, int | str], now: int) -> None:
        self._save(
            s,
            provider,
            row,
            state=OPEN,
            failures=0,
            probes=0,
            open_until_ns=now + to_ns(self.cool_down_s),
            times_opened=int(row["times_opened"]) + 1,
        )

    def state(self, provider: str) -> str:
        """The shared state as stored (no transition is made by looking)."""
        with self.store.session() as s:
            value = s.scalar(select(_T.c.state).where(_T.c.provider == provider))
        return CLOSED if value is None else str(value)
