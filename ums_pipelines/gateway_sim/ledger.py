"""The simulator's record of everything it accepted, in SQLite.

This plays the part of the carrier's own books: tests and the reconciliation job read
it to prove that every message was sent exactly once. Times are integer epoch
milliseconds so that "is this receipt due yet" is an exact comparison.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from ums_pipelines.gateway_sim.records import (
    CHANNELS,
    TYPES_BY_CHANNEL,
    AcceptResult,
    ChannelSummary,
    NewMessage,
    Receipt,
    StoredMessage,
)

__all__ = ["Ledger", "now_ms"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    client_key     TEXT NOT NULL UNIQUE,
    message_id     TEXT NOT NULL,
    channel        TEXT NOT NULL CHECK (channel IN ('sms', 'alimtalk', 'push', 'email')),
    type           TEXT NOT NULL CHECK (type IN ('SMS', 'LMS', 'ALIMTALK', 'PUSH', 'EMAIL')),
    sender         TEXT NOT NULL,
    recipient      TEXT NOT NULL,
    subject        TEXT,
    body           TEXT NOT NULL,
    accepted_at    INTEGER NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed')),
    code           TEXT,
    reason         TEXT,
    receipt_due_at INTEGER NOT NULL,
    duplicates_ignored INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_messages_channel ON messages (channel, seq);
"""

_COLUMNS = (
    "seq, client_key, message_id, channel, type, sender, recipient, subject, body,"
    " accepted_at, outcome, code, reason, receipt_due_at"
)
_NO_BOUND = 2**62


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
        self._conn.executescript(_SCHEMA)

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

    def accept_many(
        self,
        records: Sequence[NewMessage],
        *,
        receipt_delay_ms: int = 0,
        now: int | None = None,
    ) -> list[AcceptResult]:
        """Record new messages in one transaction; a known client_key is a duplicate.

        ``now`` (epoch ms, default the clock) is the acceptance time; receipts become
        due ``receipt_delay_ms`` later.

        A duplicate (also within the same call) returns the first message_id and only
        bumps a counter, so retries are visible in the summary but never double-counted.
        """
        results: list[AcceptResult] = []
        with self._lock:
            # Taken under the lock so accepted_at never decreases along seq.
            accepted_at = now_ms() if now is None else now
            due = accepted_at + receipt_delay_ms
            self._conn.execute("BEGIN IMMEDIATE")
            try:
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
                    self._conn.execute(
                        "INSERT INTO messages (client_key, message_id, channel, type, sender,"
                        " recipient, subject, body, accepted_at, outcome, code, reason,"
                        " receipt_due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                            due,
                        ),
                    )
                    results.append(AcceptResult(r.client_key, r.message_id, duplicate=False))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return results

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
        where, params = _filters(channel, key_prefix)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE seq > ?{where} ORDER BY seq LIMIT ?",  # noqa: S608
                (after, *params, limit),
            ).fetchall()
        return [StoredMessage(*row) for row in rows]

    def summary(self, key_prefix: str | None = None) -> dict[str, ChannelSummary]:
        """Counts per channel; outcomes count whether or not their receipt is due yet."""
        where, params = _filters(None, key_prefix)
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
                by_type=dict.fromkeys(TYPES_BY_CHANNEL[channel], 0),
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


def _filters(channel: str | None, key_prefix: str | None) -> tuple[str, tuple[object, ...]]:
    # Only fixed SQL fragments are concatenated; values always go through parameters.
    where = ""
    params: tuple[object, ...] = ()
    if channel is not None:
        where += " AND channel = ?"
        params += (channel,)
    if key_prefix:
        # substr rather than LIKE: keys may contain % and _ and need no escaping this way.
        where += " AND substr(client_key, 1, ?) = ?"
        params += (len(key_prefix), key_prefix)
    return where, params
