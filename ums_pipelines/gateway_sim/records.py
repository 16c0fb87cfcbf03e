"""The records the ledger stores and hands out; plain data, shared by all front ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

__all__ = [
    "CHANNELS",
    "TYPES_BY_CHANNEL",
    "AcceptResult",
    "Channel",
    "ChannelSummary",
    "NewMessage",
    "RateWindow",
    "Receipt",
    "StoredMessage",
]

Channel = Literal["sms", "alimtalk", "push", "email", "dm", "rcs", "friendtalk", "brand"]
CHANNELS: tuple[Channel, ...] = (
    "sms", "alimtalk", "push", "email", "dm", "rcs", "friendtalk", "brand",
)  # fmt: skip
# The ledger's CHECK constraints are built from these two: a new provider adds its
# channel and types here and nowhere else.
TYPES_BY_CHANNEL: dict[str, tuple[str, ...]] = {
    "sms": ("SMS", "LMS", "MMS", "INTL_SMS"),
    "alimtalk": ("ALIMTALK",),
    "push": ("PUSH", "FCM", "APNS"),
    "email": ("EMAIL",),
    "dm": ("DM",),
    "rcs": ("RCS_SMS", "RCS_LMS", "RCS_MMS", "RCS_TEMPLATE"),
    "friendtalk": ("FRIENDTALK_TEXT", "FRIENDTALK_IMAGE", "FRIENDTALK_WIDE"),
    "brand": ("BRAND",),
}


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message the front end has validated and decided the fate of."""

    client_key: str
    message_id: str
    channel: Channel
    type: str
    sender: str
    recipient: str
    subject: str | None
    body: str
    outcome: Literal["delivered", "failed"]
    code: str | None = None
    reason: str | None = None
    # The message as the provider received it (JSON text): what the wire-format
    # schemas in the tests are checked against.
    wire: str | None = None


@dataclass(frozen=True, slots=True)
class AcceptResult:
    client_key: str
    message_id: str
    duplicate: bool


@dataclass(frozen=True, slots=True)
class StoredMessage:
    seq: int
    client_key: str
    message_id: str
    channel: str
    type: str
    sender: str
    recipient: str
    subject: str | None
    body: str
    accepted_at: int
    outcome: str
    code: str | None
    reason: str | None
    receipt_due_at: int


@dataclass(frozen=True, slots=True)
class Receipt:
    """A handset delivery report; deliberately carries no recipient."""

    seq: int
    client_key: str
    message_id: str
    channel: str
    type: str
    status: str
    code: str | None
    reason: str | None
    at: int
    stage: str = "handset"


@dataclass(frozen=True, slots=True)
class RateWindow:
    """Accepted messages over time: the busiest window of a given length (epoch ms)."""

    total: int
    max_in_window: int
    window_start: int | None
    first: int | None
    last: int | None


class ChannelSummary(TypedDict):
    accepted: int
    delivered: int
    failed: int
    duplicates_ignored: int
    by_type: dict[str, int]
