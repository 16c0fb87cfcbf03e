"""The MO feeds of the relay and the RCS chatroom, and their items as one record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ums_pipelines.gateway_sim import codes
from ums_pipelines.store.engine import utcnow

__all__ = ["FEEDS", "InboundMo", "parse"]

# channel -> (provider, feed path); the feeds' shapes differ, see parse.
FEEDS: dict[str, tuple[str, str]] = {
    "sms": (codes.RELAY, "/sms/v1/mo"),
    "rcs": (codes.RCS, "/rcs/v1/chatbots/mo"),
}


@dataclass(frozen=True, slots=True)
class InboundMo:
    provider: str
    channel: str
    provider_mo_id: str
    sender: str  # as the provider gave it
    recipient: str
    text: str
    in_reply_to: str | None
    received_at: datetime


def _time(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return utcnow()
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse(channel: str, item: dict[str, Any]) -> InboundMo:
    provider = FEEDS[channel][0]
    if channel == "rcs":
        body = item.get("body") or {}
        return InboundMo(
            provider,
            channel,
            str(item["messageId"]),
            str(item["userContact"]),
            str(item["chatbotId"]),
            str(body.get("text") or ""),
            item.get("replyToMessageId"),
            _time(item.get("receivedAt")),
        )
    return InboundMo(
        provider,
        channel,
        str(item["moKey"]),
        str(item["from"]),
        str(item["callback"]),
        str(item.get("text") or ""),
        item.get("inReplyTo"),
        _time(item.get("receivedAt")),
    )
