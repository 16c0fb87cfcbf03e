"""The simulator's record of everything it accepted, in SQLite.

This plays the part of the carrier's own books: tests and the reconciliation job read
it to prove that every message was sent exactly once. Times are integer epoch
milliseconds so that "is this receipt due yet" is an exact comparison.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from types import TracebackType

from ums_pipelines.gateway_sim import feed
from ums_pipelines.gateway_sim.config import SimConfig
from ums_pipelines.gateway_sim.feed import RateLimit, RateLimited
from ums_pipelines.gateway_sim.receipt_plan import ReceiptPlan, plan_receipts
from ums_pipelines.gateway_sim.records import (
    CHANNELS,
    TYPES_BY_CHANNEL,
    AcceptResult,
    ChannelSummary,
    NewMessage,
    RateWindow,
    Receipt,
    StoredMessage,
)

__all__ = ["Ledger", "RateLimit", "RateLimited", "now_ms"]

Planner = Callable[[NewMessage, int], ReceiptPlan]


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_TYPES = sorted({t for types in TYPES_BY_CHANNEL.values() for t in types})


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS messages (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    client_key     TEXT NOT NULL UNIQUE,
    message_id     TEXT NOT NULL,
    channel        TEXT NOT NULL CHECK (channel IN ({_sql_list(CHANNELS)})),
    type           TEXT NOT NULL CHECK (type IN ({_sql_list(_TYPES)})),
    sender         TEXT NOT NULL,
    recipient      TEXT NOT NULL,
    subject        TEXT,
    body           TEXT NOT NULL,
    accepted_at    INTEGER NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed')),
    code           TEXT,
    reason         TEXT,
    receipt_due_at INTEGER NOT NULL,
    duplicates_ignored INTEGER NOT NULL DEFAULT 0,
    wire           TEXT
);
CREATE INDEX IF NOT EXISTS ix_messages_channel ON messages (channel, seq);
"""

_COLUMNS = (
    "seq, client_key, message_id, channel, type, sender, recipient, subject, body,"
    " accepted_at, outcome, code, reason, receipt_due_at"
)
_NO_BOUND = 2**62


def _widen_checks(conn: sqlite3.Connection) -> None:
    """A ledger file written before a channel or type was added has CHECK constraints that
    refuse it (every such send would answer 500): the table is rebuilt with today's."""
    (sql,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'"
    ).fetchone()
    if all(f"'{v}'" in sql for v in (*CHANNELS, *_TYPES)):
        return
    old = [row[1] for row in conn.execute("PRAGMA table_info(messages)")]
    names = ", ".join(old)  # the table's own column names
    conn.executescript(
        "BEGIN IMMEDIATE;"  # noqa: S608
        " DROP INDEX IF EXISTS ix_messages_channel;"
        " DROP INDEX IF EXISTS ix_messages_accepted;"
        " ALTER TABLE messages RENAME TO messages_before;"
        f" {_SCHEMA}"
        f" INSERT INTO messages ({names}) SELECT {names} FROM messages_before;"
        " DROP TABLE messages_before;"
        " COMMIT;"
    )


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Ledger:
    """Thread-safe ledger; a file (WAL) survives restarts, ``None`` keeps it in memory."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # One connection behind one lock: SQLite serialises writers anyway, and a single
        # connection keeps seq order identical to commit order, which the cursor relies on.
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            ":memory:" if path is None else str(path),
            check_same_thread=False,
            isolation_level=None,
        )
        if path is not None:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(_SCHEMA + feed.EVENTS_SCHEMA)
        _widen_checks(self._conn)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(messages)")}
        if "wire" not in columns:  # a ledger file written before wire formats were kept
            self._conn.execute("ALTER TABLE messages ADD COLUMN wire TEXT")
        (last,) = self._conn.execute("SELECT MAX(accepted_at) FROM messages").fetchone()
        self._last_accepted = int(last or 0)
        self._rate_indexed = False

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def accept(
        self,
        config: SimConfig,
        records: Sequence[NewMessage],
        rate_limit: RateLimit | None = None,
    ) -> list[AcceptResult]:
        """``accept_many`` with the config's receipt timing: plain, or the event feed."""
        if config.receipt_faults:
            planner = partial(plan_receipts, config)
            return self.accept_many(records, planner=planner, rate_limit=rate_limit)
        delay = config.receipt_delay_range[0]
        return self.accept_many(records, receipt_delay_ms=delay, rate_limit=rate_limit)

    def accept_many(
        self,
        records: Sequence[NewMessage],
        *,
        receipt_delay_ms: int = 0,
        now: int | None = None,
        planner: Planner | None = None,
        rate_limit: RateLimit | None = None,
    ) -> list[AcceptResult]:
        """Record new messages in one transaction; a known client_key is a duplicate.

        ``now`` (epoch ms, default the clock, never behind an earlier acceptance) is the
        acceptance time; receipts become due ``receipt_delay_ms`` later, or, with a
        ``planner``, as it plans them into the event feed. With ``rate_limit``, raises
        ``RateLimited`` and records nothing if the messages do not fit its window.

        A duplicate (also within the same call) returns the first message_id and only
        bumps a counter, so retries are visible in the summary but never double-counted.
        """
        results: list[AcceptResult] = []
        with self._lock:
            # Taken under the lock so accepted_at never decreases along seq.
            accepted_at = max(now_ms(), self._last_accepted) if now is None else now
            due = accepted_at + receipt_delay_ms
            if rate_limit is not None and not self._rate_indexed:
                self._conn.execute(feed.RATE_INDEX)
                self._rate_indexed = True
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if rate_limit is not None:
                    wait = feed.retry_after_ms(
                        self._conn,
                        rate_limit.channel,
                        rate_limit.per_second,
                        rate_limit.count,
                        accepted_at,
                    )
                    if wait is not None:
                        raise RateLimited(wait)
                for r in records:
                    row = self._conn.execute(
                        "SELECT message_id FROM messages WHERE client_key = ?", (r.client_key,)
                    ).fetchone()
                    if row is not None:
                        self._conn.execute(
                            "UPDATE messages SET duplicates_ignored = duplicates_ignored + 1"
                            " WHERE client_key = ?",
                            (r.client_key,),
                        )
                        results.append(AcceptResult(r.client_key, str(row[0]), duplicate=True))
                        continue
                    plan = None if planner is None else planner(r, accepted_at)
                    self._conn.execute(
                        "INSERT INTO messages (client_key, message_id, channel, type, sender,"
                        " recipient, subject, body, accepted_at, outcome, code, reason,"
                        " receipt_due_at, wire) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            r.client_key,
                            r.message_id,
                            r.channel,
                            r.type,
                            r.sender,
                            r.recipient,
                            r.subject,
                            r.body,
                            accepted_at,
                            r.outcome,
                            r.code,
                            r.reason,
                            due if plan is None else plan.final_due,
                            r.wire,
                        ),
                    )
                    if plan is not None:
                        feed.insert_events(self._conn, r, plan)
                    results.append(AcceptResult(r.client_key, r.message_id, duplicate=False))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            if now is None:
                self._last_accepted = accepted_at
        return results

    def event_receipts(
        self, channel: str, after: int = 0, limit: int = 1000, now: int | None = None
    ) -> tuple[list[Receipt], int]:
        """The event feed: receipts published with feed_seq > after, and the next cursor."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                feed.publish_due(self._conn, now_ms() if now is None else now)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            receipts = feed.page(self._conn, channel, after, limit)
        return receipts, receipts[-1].seq if receipts else after

    def feed_head(self, channel: str, events: bool = False) -> int:
        """The channel's receipt cursor now: a poller that starts here reads the receipts
        of messages accepted from now on only, as a new account at a provider would (the
        plain feed's cursor is the ledger seq, the event feed's its ``feed_seq``)."""
        sql = (
            "SELECT COALESCE(MAX(feed_seq), 0) FROM receipt_events WHERE channel = ?"
            if events
            else "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE channel = ?"
        )
        with self._lock:
            (head,) = self._conn.execute(sql, (channel,)).fetchone()
        return int(head)

    def wire(self, client_key: str) -> str | None:
        """The message as the provider received it (JSON text), if it was recorded."""
        with self._lock:
            row = self._conn.execute(
                "SELECT wire FROM messages WHERE client_key = ?", (client_key,)
            ).fetchone()
        return None if row is None else row[0]

    def rate(self, channel: str, window_ms: int, key_prefix: str | None = None) -> RateWindow:
        """The busiest ``window_ms`` of accepted messages of a channel."""
        with self._lock:
            return feed.rate_window(self._conn, channel, window_ms, key_prefix)

    def lookup(self, channel: str, keys: Sequence[str]) -> dict[str, StoredMessage]:
        """The stored messages of a channel with these client keys, by key."""
        with self._lock:
            rows = feed.keys_in(self._conn, _COLUMNS, channel, keys)
        found = [StoredMessage(*row) for row in rows]  # type: ignore[arg-type]
        return {m.client_key: m for m in found}

    def receipts(
        self, channel: str, after: int = 0, limit: int = 1000, now: int | None = None
    ) -> tuple[list[Receipt], int]:
        """Due receipts with seq > after, in seq order, and the cursor to poll with next.

        ``now`` is epoch milliseconds (default the clock); the cursor is a ledger seq.

        The page stops just before the first receipt that is not due yet, even if later
        ones are: otherwise the cursor would move past it and it would never be read.
        """
        with self._lock:
            moment = now_ms() if now is None else now
            (undue,) = self._conn.execute(
                "SELECT MIN(seq) FROM messages WHERE channel = ? AND seq > ?"
                " AND receipt_due_at > ?",
                (channel, after, moment),
            ).fetchone()
            rows = self._conn.execute(
                "SELECT seq, client_key, message_id, channel, type, outcome, code, reason,"
                " receipt_due_at FROM messages WHERE channel = ? AND seq > ? AND seq < ?"
                " ORDER BY seq LIMIT ?",
                (channel, after, _NO_BOUND if undue is None else undue, limit),
            ).fetchall()
        receipts = [Receipt(*row) for row in rows]
        return receipts, receipts[-1].seq if receipts else after

    def messages(
        self,
        channel: str | None = None,
        after: int = 0,
        limit: int = 1000,
        key_prefix: str | None = None,
    ) -> list[StoredMessage]:
        """Accepted messages with seq > after, in seq order."""
        where, params = feed.filters(channel, key_prefix)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE seq > ?{where} ORDER BY seq LIMIT ?",  # noqa: S608
                (after, *params, limit),
            ).fetchall()
        return [StoredMessage(*row) for row in rows]

    def summary(self, key_prefix: str | None = None) -> dict[str, ChannelSummary]:
        """Counts per channel; outcomes count whether or not their receipt is due yet."""
        where, params = feed.filters(None, key_prefix)
        with self._lock:
            rows = self._conn.execute(
                "SELECT channel, type, COUNT(*), SUM(outcome = 'delivered'),"  # noqa: S608
                " SUM(outcome = 'failed'), SUM(duplicates_ignored)"
                f" FROM messages WHERE 1 = 1{where} GROUP BY channel, type",
                params,
            ).fetchall()
        result: dict[str, ChannelSummary] = {
            channel: ChannelSummary(
                accepted=0,
                delivered=0,
                failed=0,
                duplicates_ignored=0,
                by_type={},
            )
            for channel in CHANNELS
        }
        for channel, kind, accepted, delivered, failed, duplicates in rows:
            entry = result[channel]
            entry["accepted"] += accepted
            entry["delivered"] += delivered
            entry["failed"] += failed
            entry["duplicates_ignored"] += duplicates
            entry["by_type"][kind] = accepted
        return result
