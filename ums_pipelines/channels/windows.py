"""When a message may go out: FriendTalk's quiet hours and the advertising night rule.

Both hold a message until the window opens instead of dropping it (DOMAIN.md): the send
planner sets ``not_before`` to what :func:`held_until` returns.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from ums_pipelines.channels.limits import ChannelLimits

__all__ = ["KST", "held_until"]

KST = ZoneInfo("Asia/Seoul")
_DEFAULT = ChannelLimits()


def _in_window(moment: time, start: time, end: time) -> bool:
    """``start`` inclusive, ``end`` exclusive; a window may run past midnight."""
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end


def _window_end(local: datetime, end: time) -> datetime:
    opening = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    return opening if opening > local else opening + timedelta(days=1)


def held_until(
    channel: str,
    purpose: str | None,
    at: datetime,
    *,
    night_consent: bool = False,
    limits: ChannelLimits | None = None,
    tz: ZoneInfo = KST,
) -> datetime | None:
    """None when a message may go at ``at`` (timezone-aware); otherwise the moment it
    may, in ``tz``: FriendTalk and brand messages wait out their quiet hours, and an
    advertisement without night consent waits out the night."""
    if at.tzinfo is None:
        raise ValueError("at: a timezone-aware moment is needed (business rules are in KST)")
    limits = limits or _DEFAULT
    local = at.astimezone(tz)
    now = local.timetz().replace(tzinfo=None)
    openings: list[datetime] = []
    if channel in ("friendtalk", "brand"):
        typed = limits.friendtalk if channel == "friendtalk" else limits.brand
        if _in_window(now, typed.quiet_from, typed.quiet_until):
            openings.append(_window_end(local, typed.quiet_until))
    is_ad = purpose in ("ad", "advertising")
    if is_ad and not night_consent and _in_window(now, limits.ad.night_from, limits.ad.night_until):
        openings.append(_window_end(local, limits.ad.night_until))
    return max(openings) if openings else None
