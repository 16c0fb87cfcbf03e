"""Retry delays: exponential backoff with full jitter, capped, never before a Retry-After.

Full jitter (a uniform draw in ``[0, min(cap, base * multiplier**attempt)]``) spreads the
retries of many senders that failed together, so they do not come back as one burst;
a provider's Retry-After is a floor on top of it, because retrying earlier is refused
anyway and counts against us.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["Backoff", "parse_retry_after"]


@dataclass
class Backoff:
    base_s: float = 1.0
    cap_s: float = 300.0
    multiplier: float = 2.0
    # Inject random.Random(seed) in tests for deterministic delays.
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s or self.multiplier < 1:
            raise ValueError("need 0 < base_s <= cap_s and multiplier >= 1")

    def ceiling(self, attempt: int) -> float:
        """The upper end of the jitter range for retry number ``attempt`` (0 = first)."""
        attempt = max(attempt, 0)
        # Compare in logs: multiplier**attempt overflows a float long before it matters.
        if self.multiplier > 1 and attempt * math.log(self.multiplier) >= math.log(
            self.cap_s / self.base_s
        ):
            return self.cap_s
        return min(self.cap_s, self.base_s * self.multiplier**attempt)

    def delay(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt``; at least ``retry_after_s``.

        Retry-After is honoured even above the cap: the provider's word beats our cap.
        """
        wait = self.rng.uniform(0.0, self.ceiling(attempt))
        if retry_after_s is not None and retry_after_s > wait:
            return float(retry_after_s)
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header (delta-seconds or an HTTP-date) as seconds from now; None if bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(seconds, 0.0)
