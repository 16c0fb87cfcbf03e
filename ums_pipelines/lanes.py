"""Priority lanes and message purposes: a lower lane number is served first."""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["CHANNELS", "TERMINAL_STATES", "Lane", "Purpose"]

CHANNELS = ("sms", "alimtalk", "push", "email")
TERMINAL_STATES = frozenset({"delivered", "failed", "expired", "cancelled"})


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
