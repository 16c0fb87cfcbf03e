"""MO (mobile-originated) replies: injected by tests and the demo, read by UMS from feeds.

- ``POST /admin/v1/mo`` with ``{"from", "to", "text", "channel": "sms"|"rcs",
  "inReplyTo"?: providerMessageId}`` stands in for a customer typing a reply; it answers
  201 with the MO's id.
- ``GET /sms/v1/mo?cursor=&limit=``: the relay's MO feed (``moKey``, ``callback`` ...).
- ``GET /rcs/v1/chatbots/mo?cursor=&limit=``: the RCS chatroom's (``messageId``,
  ``chatbotId``, ``userContact`` ...).

MO ids are fixed by the seed and the MO's sequence number, and cursors are that
sequence, so a feed read twice gives the same ids and a consumer can dedupe on them.
MOs live in a SQLite database of their own beside the ledger (in memory with it), kept
per ledger so that an app rebuilt on the same ledger serves the same MOs.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import weakref
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ums_pipelines.gateway_sim import codes
from ums_pipelines.gateway_sim.config import SimConfig
from ums_pipelines.gateway_sim.ledger import Ledger, now_ms
from ums_pipelines.gateway_sim.wire import MAX_PAGE, error_field, iso_time, relay_error

__all__ = ["MoBox", "MoInjection", "MoRoutes", "mo_box"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mo (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    mo_id       TEXT NOT NULL UNIQUE,
    channel     TEXT NOT NULL CHECK (channel IN ('sms', 'rcs')),
    sender      TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    text        TEXT NOT NULL,
    in_reply_to TEXT,
    received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_mo_channel ON mo (channel, seq);
"""
_COLUMNS = "seq, mo_id, channel, sender, recipient, text, in_reply_to, received_at"
Row = tuple[int, str, str, str, str, str, str | None, int]


class MoInjection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    sender: str = Field(alias="from", min_length=1, max_length=32)
    to: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=2000)
    channel: Literal["sms", "rcs"] = "sms"
    in_reply_to: str | None = Field(default=None, alias="inReplyTo", max_length=128)


class MoBox:
    """The MOs of one simulator, thread-safe; ``path`` None keeps them in memory."""

    def __init__(self, seed: int, path: str | None = None) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path or ":memory:", check_same_thread=False)
        self._conn.executescript(_SCHEMA)

    def add(self, mo: MoInjection, at: int | None = None) -> Row:
        with self._lock, self._conn:
            (last,) = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM mo").fetchone()
            seq = int(last) + 1
            digest = hashlib.sha256(f"{self.seed}\x1fmo\x1f{seq}".encode()).hexdigest()
            row: Row = (
                seq,
                f"MO{digest[:22]}",
                mo.channel,
                mo.sender.strip(),
                mo.to.strip(),
                mo.text,
                mo.in_reply_to,
                now_ms() if at is None else at,
            )
            marks = ", ".join("?" * len(row))
            self._conn.execute(f"INSERT INTO mo ({_COLUMNS}) VALUES ({marks})", row)  # noqa: S608
        return row

    def page(self, channel: str, after: int, limit: int) -> list[Row]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM mo WHERE channel = ? AND seq > ?"  # noqa: S608
                " ORDER BY seq LIMIT ?",
                (channel, after, limit),
            ).fetchall()
        return [tuple(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


_BOXES: weakref.WeakKeyDictionary[Ledger, MoBox] = weakref.WeakKeyDictionary()
_BOXES_LOCK = threading.Lock()


def mo_box(config: SimConfig, ledger: Ledger) -> MoBox:
    """The ledger's MO box, made on first use (a file beside a file ledger)."""
    with _BOXES_LOCK:
        box = _BOXES.get(ledger)
        if box is None:
            path = ledger.path
            where = None if path is None else str(path.with_name(f"{path.stem}-mo.db"))
            box = _BOXES[ledger] = MoBox(config.seed, where)
        return box


def _sms_json(r: Row) -> dict[str, Any]:
    seq, mo_id, _, sender, recipient, text, reply, at = r
    return {
        "seq": seq,
        "moKey": mo_id,
        "from": sender,
        "callback": recipient,
        "text": text,
        "inReplyTo": reply,
        "receivedAt": iso_time(at),
    }


def _rcs_json(r: Row) -> dict[str, Any]:
    seq, mo_id, _, sender, recipient, text, reply, at = r
    return {
        "seq": seq,
        "messageId": mo_id,
        "chatbotId": recipient,
        "userContact": sender,
        "eventType": "message",
        "body": {"text": text},
        "replyToMessageId": reply,
        "receivedAt": iso_time(at),
    }


class MoRoutes:
    """The HTTP side: the admin injection and the two provider-shaped feeds."""

    def __init__(self, config: SimConfig, ledger: Ledger) -> None:
        self.box = mo_box(config, ledger)

    async def inject(self, request: Request) -> Response:
        try:
            mo = MoInjection.model_validate_json(await request.body())
        except ValidationError as exc:
            field, problem = error_field(exc)
            return relay_error(400, codes.E_REQUEST, f"{field}: {problem}", field)
        seq, mo_id, channel, *_ = await run_in_threadpool(self.box.add, mo)
        return JSONResponse({"moId": mo_id, "channel": channel, "seq": seq}, status_code=201)

    async def sms_feed(self, request: Request) -> Response:
        return await self._feed(request, "sms")

    async def rcs_feed(self, request: Request) -> Response:
        return await self._feed(request, "rcs")

    async def _feed(self, request: Request, channel: str) -> Response:
        values: list[int] = []
        for name, default, top in (("cursor", 0, 2**62), ("limit", 500, MAX_PAGE)):
            raw = request.query_params.get(name)
            value = default if raw is None else int(raw) if raw.isdigit() else -1
            if not 0 <= value <= top or (name == "limit" and value == 0):
                return relay_error(
                    400, codes.E_REQUEST, f"{name} must be an integer in range", name
                )
            values.append(value)
        rows = await run_in_threadpool(self.box.page, channel, values[0], values[1])
        shape = _sms_json if channel == "sms" else _rcs_json
        cursor = rows[-1][0] if rows else values[0]
        return JSONResponse({"messages": [shape(r) for r in rows], "nextCursor": cursor})
