"""How long an urgent notice takes at the providers' current limits, before it is sent.

The notice goes out on the urgent lane, which takes each provider's whole rate while it
asks (``dispatch/reserve.py``): so the time is the slowest provider's share of the first
legs over its rate in force, plus the fixed start (approval to the first send). Channels
of one provider share its rate (AlimTalk, FriendTalk and brand messages are Kakao's). A
provider with no limit configured runs at the send plane's own capacity
(``UMS_URGENT_UNLIMITED_RATE_PER_S``). Fallback legs come later, on failure receipts,
and are not in the figure; the dry run says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ums_pipelines.dispatch.compose import PROVIDERS

__all__ = ["Prediction", "ProviderShare", "predict"]


@dataclass(frozen=True)
class ProviderShare:
    provider: str
    channels: tuple[str, ...]
    messages: int
    rate_per_s: float
    limited: bool  # False: no provider limit, the send plane's capacity was assumed

    @property
    def seconds(self) -> float:
        return self.messages / self.rate_per_s


@dataclass(frozen=True)
class Prediction:
    start_s: float
    shares: tuple[ProviderShare, ...] = field(default_factory=tuple)

    @property
    def seconds(self) -> float:
        """From approval to the last first leg accepted by its provider."""
        return self.start_s + max((s.seconds for s in self.shares), default=0.0)

    @property
    def bottleneck(self) -> str | None:
        slowest = max(self.shares, key=lambda s: s.seconds, default=None)
        return slowest.provider if slowest is not None else None

    def as_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "start_s": self.start_s,
            "bottleneck": self.bottleneck,
            "providers": [
                {
                    "provider": s.provider,
                    "channels": list(s.channels),
                    "messages": s.messages,
                    "rate_per_s": s.rate_per_s,
                    "limited": s.limited,
                    "seconds": round(s.seconds, 3),
                }
                for s in self.shares
            ],
        }


def predict(
    reach: Mapping[str, int],
    rates: Mapping[str, float | None],
    *,
    unlimited_rate: float,
    start_s: float,
) -> Prediction:
    """``reach``: first legs per channel; ``rates``: messages a second in force per
    provider (None or absent: no limit). Raises ValueError naming a bad figure."""
    if unlimited_rate <= 0:
        raise ValueError(f"unlimited_rate: {unlimited_rate} must be above 0")
    if start_s < 0:
        raise ValueError(f"start_s: {start_s} must not be negative")
    by_provider: dict[str, list[str]] = {}
    for channel, n in sorted(reach.items()):
        if n < 0:
            raise ValueError(f"reach[{channel}]: {n} must not be negative")
        if channel not in PROVIDERS:
            raise ValueError(f"reach[{channel}]: not a channel")
        if n:
            by_provider.setdefault(PROVIDERS[channel], []).append(channel)
    shares = []
    for provider, channels in sorted(by_provider.items()):
        rate = rates.get(provider)
        if rate is not None and rate <= 0:
            raise ValueError(f"rates[{provider}]: {rate} must be above 0")
        shares.append(
            ProviderShare(
                provider,
                tuple(channels),
                sum(reach[c] for c in channels),
                rate if rate is not None else unlimited_rate,
                rate is not None,
            )
        )
    return Prediction(start_s, tuple(shares))
