"""Lane reservations of a provider's rate limit: the urgent lane's tokens come first.

The provider's bucket (``ratelimit.py``) is one GCRA row shared by every sender; on its
own it hands tokens to whoever asks, so an urgent notice asking beside a running bulk
marketing job got about half the provider's rate. A sender of a reserving lane that
asks for tokens marks the provider reserved for its lane for ``HOLD_NS``, renewed while
it keeps asking; meanwhile senders of lower lanes (or of no stated lane) are granted
nothing and told to wait until the reservation lapses. Both run inside the acquisition's
transaction, under the bucket row's lock, so the decision and the grant agree.
"""

from __future__ import annotations

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ums_pipelines.dispatch._rows import NS, upsert
from ums_pipelines.lanes import Lane
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.urgent import LaneReservation

__all__ = ["HOLD_NS", "RESERVING_LANE", "reserve_or_wait"]

# Only the urgent lane reserves: a customer-wide notice must run at the provider's whole
# rate for its prediction to hold. Real-time lanes below it are small and served first
# by their own express workers already.
RESERVING_LANE = Lane.URGENT
# Longer than a sender's gap between two asks (a claim, a send round trip), short enough
# that lower lanes resume within half a second of the last urgent ask.
HOLD_NS = NS // 2

_R: Table = LaneReservation.__table__  # type: ignore[assignment]


def reserve_or_wait(session: Session, provider: str, lane: int | None, now_ns: int) -> int:
    """Reserve the provider for ``lane`` if it reserves, and return 0; else the
    nanoseconds a sender of ``lane`` (None: the lowest) must wait, 0 when it may go."""
    row = session.execute(
        select(_R.c.lane, _R.c.until_ns).where(_R.c.provider == provider)
    ).one_or_none()
    live = row is not None and row.until_ns > now_ns
    if lane is not None and lane <= RESERVING_LANE:
        # Renewed once a quarter of the hold has passed: not a write on every ask.
        if not live or row.lane > lane or row.until_ns - now_ns < HOLD_NS * 3 // 4:  # type: ignore[union-attr]
            values = {
                "provider": provider,
                "lane": int(lane),
                "until_ns": now_ns + HOLD_NS,
                "updated_at": utcnow(),
            }
            upsert(session, _R, values, update=("lane", "until_ns", "updated_at"))
        return 0
    if live and (lane is None or lane > row.lane):  # type: ignore[union-attr]
        return int(row.until_ns - now_ns)  # type: ignore[union-attr]
    return 0
