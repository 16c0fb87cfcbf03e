"""Reading the opt-out feeds' files: the 080 vendor's daily file, Kakao's channel-block
report and the app's push-off events, each into numbered events or numbered bad rows.

A bad row is kept with its line and the reason naming the field, and never sinks the
file; only a file that cannot be read at all (no phone column, not text) raises
``FeedError``. Nothing here touches the store: ``optout_feeds`` matches and records.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

from ums_pipelines.masking import mask_phone

__all__ = [
    "BadRow",
    "FeedError",
    "PhoneEvent",
    "PushEvent",
    "decode",
    "parse_080",
    "parse_kakao_blocks",
    "parse_push_events",
    "parse_when",
    "push_event",
]


class FeedError(ValueError):
    """A feed file that cannot be read at all (the message names the field and reason)."""


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    reason: str  # names the field; a phone in it is masked


@dataclass(frozen=True, slots=True)
class PhoneEvent:
    """An opt-out by phone number (080 call, Kakao channel block)."""

    line: int
    phone: str  # national digits, e.g. 01012345678
    at: datetime  # aware UTC
    detail: str | None  # the 080 number called, or the Kakao sender profile key


@dataclass(frozen=True, slots=True)
class PushEvent:
    """The app's report that a customer turned push notifications off."""

    line: int
    at: datetime
    customer_id: str | None
    push_token: str | None
    marketing_only: bool  # only advertising pushes were turned off


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else CP949: the two encodings bank vendors send."""
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FeedError("file: neither UTF-8 nor CP949 text")


def parse_when(value: object, tz: ZoneInfo, field: str) -> datetime:
    """ISO 8601 or ``YYYYMMDDHHMMSS``; a time without a zone is Korea time (``tz``)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: missing")
    text = value.strip()
    try:
        if text.isdigit() and len(text) == 14:
            when = datetime.strptime(text, "%Y%m%d%H%M%S")
        else:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field}: {text[:32]!r} is not a date and time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when.astimezone(UTC)


def _phone(value: object) -> str:
    """National digits of a valid Korean number (callers may call from a landline)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("phone: missing")
    try:
        number = phonenumbers.parse(value.strip(), "KR")
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is None
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.region_code_for_number(number) != "KR"
    ):
        raise ValueError(f"phone: {mask_phone(value)} is not a valid Korean phone number")
    return "0" + phonenumbers.national_significant_number(number)


def _records(
    text: str, columns: tuple[str, ...], aliases: Mapping[str, str]
) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line, record, error) of a CSV (header optional: a first cell that is a number
    means the columns come in ``columns`` order) or of JSON Lines (a first ``{``)."""
    if text.lstrip().startswith("{"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                yield n, None, "line: not a JSON object"
                continue
            if not isinstance(item, dict):
                yield n, None, "line: not a JSON object"
                continue
            yield n, {aliases.get(k.lower(), k.lower()): v for k, v in item.items()}, None
        return
    rows = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    for row in rows:
        n = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            first = row[0].strip().lstrip("+").replace("-", "")
            if first.isdigit():
                header = list(columns)
            else:
                header = [aliases.get(c.strip().lower(), c.strip().lower()) for c in row]
                if columns[0] not in header:
                    raise FeedError(f"header: no {columns[0]!r} column (found {header})")
                continue
        yield n, {k: v for k, v in zip(header, row, strict=False)}, None


_PHONE_ALIASES = {
    "phone_number": "phone",
    "mobile": "phone",
    "number": "phone",
    "휴대폰번호": "phone",
    "전화번호": "phone",
}


def _phone_events(
    text: str, at_field: str, detail_field: str, tz: ZoneInfo, aliases: Mapping[str, str]
) -> tuple[list[PhoneEvent], list[BadRow]]:
    events: list[PhoneEvent] = []
    bad: list[BadRow] = []
    columns = ("phone", at_field, detail_field)
    for line, record, error in _records(text, columns, {**_PHONE_ALIASES, **aliases}):
        if record is None:
            bad.append(BadRow(line, error or "line: unreadable"))
            continue
        try:
            phone = _phone(record.get("phone"))
            at = parse_when(record.get(at_field), tz, at_field)
        except ValueError as exc:
            bad.append(BadRow(line, str(exc)))
            continue
        detail = record.get(detail_field)
        detail = str(detail).strip()[:64] if detail not in (None, "") else None
        events.append(PhoneEvent(line, phone, at, detail))
    return events, bad


def parse_080(data: bytes, tz: ZoneInfo) -> tuple[list[PhoneEvent], list[BadRow]]:
    """The 080 vendor's file: ``phone, opted_out_at[, called_number]``."""
    aliases = {
        "number_080": "called_number",
        "080": "called_number",
        "수신거부일시": "opted_out_at",
    }
    return _phone_events(decode(data), "opted_out_at", "called_number", tz, aliases)


def parse_kakao_blocks(data: bytes, tz: ZoneInfo) -> tuple[list[PhoneEvent], list[BadRow]]:
    """Kakao's report of users who blocked the bank's channel: ``phone, blocked_at,
    sender_key`` as CSV or JSON Lines."""
    aliases = {
        "senderkey": "sender_key",
        "sender_profile_key": "sender_key",
        "blockedat": "blocked_at",
    }
    return _phone_events(decode(data), "blocked_at", "sender_key", tz, aliases)


def push_event(line: int, item: object, tz: ZoneInfo) -> PushEvent:
    """One push-off event: ``customer_id`` or ``push_token``, ``at``, ``marketing_only``."""
    if not isinstance(item, dict):
        raise ValueError("event: not a JSON object")
    customer_id, token = item.get("customer_id"), item.get("push_token")
    for name, value in (("customer_id", customer_id), ("push_token", token)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"{name}: not a non-empty string")
    if customer_id is None and token is None:
        raise ValueError("customer_id: missing (give customer_id or push_token)")
    if customer_id is not None and len(customer_id) > 32:
        raise ValueError("customer_id: longer than 32 characters")
    marketing_only = item.get("marketing_only", False)
    if not isinstance(marketing_only, bool):
        raise ValueError("marketing_only: not true or false")
    at = parse_when(item.get("at"), tz, "at")
    return PushEvent(line, at, customer_id, token, marketing_only)


def parse_push_events(data: bytes, tz: ZoneInfo) -> tuple[list[PushEvent], list[BadRow]]:
    """The app's push-off events, one JSON object a line."""
    events: list[PushEvent] = []
    bad: list[BadRow] = []
    for n, line in enumerate(decode(data).splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(push_event(n, json.loads(line), tz))
        except ValueError as exc:
            reason = str(exc) if not isinstance(exc, json.JSONDecodeError) else None
            bad.append(BadRow(n, reason or "line: not a JSON object"))
    return events, bad
