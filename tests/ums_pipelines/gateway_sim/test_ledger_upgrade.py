"""A ledger file from before RCS, FriendTalk, brand messages and MMS still takes them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ums_pipelines.gateway_sim.ledger import Ledger
from ums_pipelines.gateway_sim.records import NewMessage

# The messages table as ledger files were written before these channels were added.
OLD = """
CREATE TABLE messages (
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
CREATE INDEX ix_messages_channel ON messages (channel, seq);
INSERT INTO messages (client_key, message_id, channel, type, sender, recipient, body,
    accepted_at, outcome, receipt_due_at)
VALUES ('old-1', 'S1', 'sms', 'SMS', '15881234', '01012345678', 'x', 1, 'delivered', 1);
"""


def message(key: str, channel: str, kind: str) -> NewMessage:
    return NewMessage(key, f"M{key}", channel, kind, "15881234", "01012345678", None, "x",  # type: ignore[arg-type]
                      "delivered")  # fmt: skip


def test_old_ledger_file_is_widened_and_keeps_its_messages(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD)
    with Ledger(path) as ledger:
        results = ledger.accept_many(
            [
                message("new-rcs", "rcs", "RCS_SMS"),
                message("new-ft", "friendtalk", "FRIENDTALK_WIDE"),
                message("new-mms", "sms", "MMS"),
            ]
        )
        assert [r.duplicate for r in results] == [False, False, False]
        kept = [(m.client_key, m.channel, m.type) for m in ledger.messages()]
        assert kept[0] == ("old-1", "sms", "SMS") and len(kept) == 4
        # The old key is still known: a retry of it is a duplicate.
        (again,) = ledger.accept_many([message("old-1", "sms", "SMS")])
        assert again.duplicate and again.message_id == "S1"
    # Opening it again finds nothing to widen and changes nothing.
    with Ledger(path) as ledger:
        assert len(ledger.messages()) == 4
