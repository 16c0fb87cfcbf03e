"""The records of a contact history lookup (contact/history.py): one Contact per message
chain, its legs, and the replies attributed to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["OPEN_STATUSES", "Contact", "Leg", "Reply"]

# Delivery-event statuses that mean the customer opened the message: only channels that
# tell (push, e-mail with a tracking pixel) ever write one.
OPEN_STATUSES = ("opened", "read")


@dataclass(frozen=True)
class Leg:
    """One attempt of a chain on one channel."""

    message_id: int
    leg: int
    channel: str
    message_type: str
    state: str
    recipient: str
    submitted_at: datetime | None
    completed_at: datetime | None
    error_code: str | None


@dataclass(frozen=True)
class Reply:
    """An MO reply of the customer attributed to a contact."""

    mo_id: int
    received_at: datetime
    text: str
    linked: bool  # matched to a leg, not only attributed by time


@dataclass
class Contact:
    """One message chain sent to one customer and the customer's responses to it."""

    message_id: int  # the first leg's id
    customer_id: str
    at: datetime  # when the first leg was written to the outbox
    job_id: str
    job_name: str
    kind: str
    caller: str | None  # the system that asked, for a real-time message
    department: str
    purpose: str
    send_round: int
    legs: list[Leg]
    body: str  # the final leg's text
    opened_at: datetime | None = None
    clicks: list[datetime] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    opted_out_at: datetime | None = None
    opt_out_source: str | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(leg.channel for leg in self.legs)

    @property
    def final(self) -> Leg:
        return self.legs[-1]

    @property
    def state(self) -> str:
        return self.final.state

    @property
    def delivered_at(self) -> datetime | None:
        delivered = [leg for leg in self.legs if leg.state == "delivered"]
        return delivered[-1].completed_at if delivered else None

    @property
    def delivered_channel(self) -> str | None:
        delivered = [leg for leg in self.legs if leg.state == "delivered"]
        return delivered[-1].channel if delivered else None
