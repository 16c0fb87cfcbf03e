"""Priority lanes and message purposes: a lower lane number is served first."""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = [
    "CHANNELS",
    "CHANNEL_RANK",
    "EXPRESS_MAX_PRIORITY",
    "TERMINAL_STATES",
    "Lane",
    "Purpose",
    "lane_of",
    "message_priority",
]

# Every channel the senders serve and receipts are polled for (the same names as
# ``channels.payload.CHANNELS``): the first four in their historical order, then the rest.
CHANNELS = ("sms", "alimtalk", "push", "email", "rcs", "friendtalk", "brand", "dm")
TERMINAL_STATES = frozenset({"delivered", "failed", "expired", "cancelled"})

# Within a lane the channel orders too: an OTP by SMS outranks the same OTP by e-mail,
# whose recipient reads it minutes later anyway.
# FriendTalk and brand messages are advertising: behind every informational channel but
# e-mail; a letter is printed tomorrow whatever its rank.
CHANNEL_RANK = {
    "sms": 0,
    "push": 1,
    "alimtalk": 2,
    "rcs": 3,
    "friendtalk": 4,
    "brand": 5,
    "email": 6,
    "dm": 9,
}


class Lane(IntEnum):
    URGENT = 0
    AUTH = 1
    TRANSACTIONAL = 2
    INFORMATIONAL = 3
    MARKETING = 4


class Purpose(StrEnum):
    INFORMATIONAL = "informational"
    ADVERTISING = "advertising"
    AUTH = "auth"

    @property
    def consent_key(self) -> str:
        """Consent purposes stored per customer; authentication needs no marketing consent."""
        return {"informational": "info", "advertising": "ad", "auth": "info"}[self.value]


def message_priority(lane: int, channel: str) -> int:
    """Outbox priority (lower is served first): the lane decides, the channel breaks ties."""
    return int(lane) * 10 + CHANNEL_RANK.get(channel, 5)


def lane_of(priority: int) -> Lane:
    return Lane(min(max(priority // 10, 0), int(Lane.MARKETING)))


# Urgent, authentication and transactional messages: served by express senders that
# never wait behind a bulk batch.
EXPRESS_MAX_PRIORITY = message_priority(Lane.TRANSACTIONAL, "dm")
