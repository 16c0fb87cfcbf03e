"""The advertising night rule where messages are sent: what may go now, what waits.

From ``ad_night_start`` to ``ad_night_end`` (Korea time) an advertisement goes only to a
customer with a night consent (``night_ad``) for its channel; FriendTalk and brand
messages do not go at all in their own night (``friendtalk_night_*``). Nothing is
dropped: a held row stays ``queued`` with ``not_before`` at the end of the ban, and goes
then unless its job's window or content validity ends first (the sweeps expire it).

A split is written with such rows queued, not claimed (:func:`hold_split`), and just
before a send the batch is checked against the clock again (:class:`NightScreen`, the
last mile: a split written at 20:59:59 is sent after 21:00). By day both cost a time
comparison, at night the last mile one read query per batch; a job that is neither
advertising nor on a Kakao ad channel pays nothing. The arithmetic is
:func:`ums_pipelines.channels.windows.held_until` with the boundaries from the settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, case, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ums_pipelines.channels.limits import ChannelLimits
from ums_pipelines.channels.windows import held_until
from ums_pipelines.dispatch.claims import MESSAGES, Claimed, T
from ums_pipelines.lanes import Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, as_utc, utcnow
from ums_pipelines.store.models import Consent, DeliveryEvent, Job

__all__ = [
    "HOLD_CODE",
    "KAKAO_AD_CHANNELS",
    "NIGHT_CONSENT",
    "NightRule",
    "NightScreen",
    "applies",
    "held_count",
    "hold_split",
    "parked",
    "record_written_holds",
    "rule_for",
    "screen_for_job",
]

# The consent purpose of the separate night consent (customers.validation.CONSENT_PURPOSES).
NIGHT_CONSENT = "night_ad"
KAKAO_AD_CHANNELS = frozenset({"friendtalk", "brand"})
HOLD_CODE = "NIGHT-HOLD"  # the delivery event's code on a held row

EVENTS: Table = DeliveryEvent.__table__  # type: ignore[assignment]
CONSENTS: Table = Consent.__table__  # type: ignore[assignment]
JOBS: Table = Job.__table__  # type: ignore[assignment]
# Per outbox row: does its customer consent at night on its channel (correlated EXISTS).
_NIGHT = exists().where(
    CONSENTS.c.customer_id == T.customer_id,
    CONSENTS.c.channel == T.channel,
    CONSENTS.c.purpose == NIGHT_CONSENT,
    CONSENTS.c.granted.is_(True),
)


@dataclass(frozen=True)
class NightRule:
    limits: ChannelLimits
    tz: ZoneInfo
    margin: timedelta

    def until(
        self, channel: str, purpose: str, now: datetime, night_consent: bool
    ) -> datetime | None:
        """None when a message may be sent at ``now`` and still ``margin`` later (the
        request may reach the provider after a boundary); otherwise the UTC moment it may."""
        for moment in (now, now + self.margin):
            opens = held_until(
                channel,
                purpose,
                moment,
                night_consent=night_consent,
                limits=self.limits,
                tz=self.tz,
            )
            if opens is not None:
                return opens.astimezone(UTC)
        return None

    def in_force(self, now: datetime) -> bool:
        """Whether any ban holds something at ``now``; outside every ban nothing is looked up."""
        ad = Purpose.ADVERTISING.value
        return any(self.until(c, ad, now, False) is not None for c in ("sms", *KAKAO_AD_CHANNELS))


_FIELDS = ("ad_night_start", "ad_night_end", "friendtalk_night_start", "friendtalk_night_end")


def rule_for(settings: Settings) -> NightRule:
    times = (getattr(settings, name) for name in _FIELDS)
    return _rule(*times, settings.timezone, settings.night_send_margin_s)


@lru_cache(maxsize=8)
def _rule(
    ad_start: time, ad_end: time, kakao_start: time, kakao_end: time, zone: str, margin_s: float
) -> NightRule:
    kakao = {"quiet_from": kakao_start, "quiet_until": kakao_end}
    limits = ChannelLimits().merged(
        {"ad": {"night_from": ad_start, "night_until": ad_end}, "friendtalk": kakao, "brand": kakao}
    )
    return NightRule(limits, ZoneInfo(zone), timedelta(seconds=margin_s))


def applies(purpose: str, channels: Iterable[str]) -> bool:
    """Whether the rule can hold anything of a job: advertising, or a Kakao ad channel."""
    return purpose == Purpose.ADVERTISING.value or not KAKAO_AD_CHANNELS.isdisjoint(channels)


def _night_consents(session: Session, customer_ids: Iterable[str]) -> set[tuple[str, str]]:
    """(customer, channel) pairs with a granted night consent, in one query."""
    query = select(Consent.customer_id, Consent.channel).where(
        Consent.customer_id.in_(sorted(set(customer_ids))),
        Consent.purpose == NIGHT_CONSENT,
        Consent.granted.is_(True),
    )
    return {(cid, channel) for cid, channel in session.execute(query)}


def hold_split(
    session: Session, settings: Settings, job: Job, rows: Sequence[Mapping[str, Any]], now: datetime
) -> dict[str, datetime]:
    """Rows of a split being written that may not go: idempotency key -> when they may.

    Judged at the write, or at the job's own start if that is later (so the moment
    returned is always after the job's ``not_before``)."""
    if not rows or not applies(job.purpose, {r["channel"] for r in rows}):
        return {}
    at = max(now, as_utc(job.not_before)) if job.not_before is not None else now
    rule = rule_for(settings)
    if not rule.in_force(at):
        return {}
    consents = _night_consents(session, (r["customer_id"] for r in rows))
    held: dict[str, datetime] = {}
    for r in rows:
        night = (r["customer_id"], r["channel"]) in consents
        opens = rule.until(r["channel"], job.purpose, at, night)
        if opens is not None:
            held[r["idempotency_key"]] = opens
    return held


def _detail(settings: Settings, channel: str, opens: datetime) -> str:
    local = as_utc(opens).astimezone(settings.tz)
    why = "FriendTalk/brand night hours" if channel in KAKAO_AD_CHANNELS else "no night consent"
    return f"held for the night ban until {local:%Y-%m-%d %H:%M} {settings.timezone}: {why}"


def _record_holds(
    session: Session, settings: Settings, held: Sequence[tuple[int, str, datetime]], now: datetime
) -> None:
    """One ``ums/held`` delivery event per held row (id, channel, until): the reason is
    visible on the row's history, not only in its ``not_before``."""
    if not held:
        return
    dialect = session.get_bind().dialect.name
    stmt = postgresql.insert(EVENTS) if dialect == "postgresql" else sqlite.insert(EVENTS)
    event = {"stage": "ums", "status": "held", "code": HOLD_CODE, "occurred_at": now}
    # Held again another night: the first event stays (one per message, stage, status).
    session.execute(
        stmt.on_conflict_do_nothing(),
        [
            {**event, "message_id": mid, "detail": _detail(settings, c, t), "recorded_at": now}
            for mid, c, t in held
        ],
    )


def record_written_holds(
    session: Session, settings: Settings, keys: Sequence[str], now: datetime
) -> None:
    """The events of rows a split wrote held (their ids are known only once written)."""
    if keys:
        rows = session.execute(
            select(T.id, T.channel, T.not_before).where(
                T.idempotency_key.in_(keys), T.state == "queued", T.not_before > now
            )
        ).all()
        _record_holds(session, settings, [(r[0], r[1], r[2]) for r in rows], now)


@dataclass(frozen=True)
class NightScreen:
    """The last mile: the part of a batch that may be sent now; the rest is handed back
    ``queued`` until the ban ends (no attempt used), with a held event. ``purpose`` is
    the job's (a dispatcher); None looks up each row's job (the agent serves them all)."""

    store: Store
    settings: Settings
    owner: str
    purpose: str | None = None

    def due(self, now: datetime) -> bool:
        return rule_for(self.settings).in_force(now)

    def __call__(self, batch: list[Claimed], now: datetime | None = None) -> list[Claimed]:
        now = now or utcnow()
        rule = rule_for(self.settings)
        if not batch or not rule.in_force(now):
            return batch
        if self.purpose is not None and not applies(self.purpose, {c.channel for c in batch}):
            return batch
        query = (
            select(T.id, T.channel, JOBS.c.purpose, _NIGHT)
            .join(JOBS, JOBS.c.job_id == T.job_id)
            .where(T.id.in_([b.id for b in batch]))
        )
        with self.store.reading() as session:
            found = session.execute(query).all()
        holds: dict[int, tuple[str, datetime]] = {}
        for mid, channel, purpose, consent in found:
            opens = rule.until(channel, purpose, now, bool(consent))
            if opens is not None:
                holds[mid] = (channel, opens)
        if not holds:
            return batch
        with self.store.session() as session:
            held = _hand_back(session, holds, self.owner, now)
            _record_holds(session, self.settings, held, now)
        # A row not handed back was not ours any more (lease lost): not sent either.
        return [b for b in batch if b.id not in holds]


def _hand_back(
    session: Session, holds: Mapping[int, tuple[str, datetime]], owner: str, now: datetime
) -> list[tuple[int, str, datetime]]:
    held: list[tuple[int, str, datetime]] = []
    for opens in {t for _, t in holds.values()}:  # one statement per end of a ban
        ids = [mid for mid, (_, t) in holds.items() if t == opens]
        returned = session.execute(
            update(MESSAGES)
            .where(T.id.in_(ids), T.lease_owner == owner, T.state == "claimed")
            .values(
                state="queued",
                not_before=opens,
                lease_owner=None,
                lease_expires_at=None,
                attempts=case((T.attempts > 0, T.attempts - 1), else_=0),
                updated_at=now,
            )
            .returning(T.id)
        )
        held += [(mid, holds[mid][0], opens) for (mid,) in returned]
    return held


def screen_for_job(store: Store, settings: Settings, job_id: str, owner: str) -> NightScreen | None:
    """The dispatcher's last mile for one job, or None when the rule cannot hold any of
    its messages (informational, no Kakao ad channel): decided once, off the hot path."""
    with store.reading() as session:
        row = session.execute(
            select(Job.purpose, Job.routes).where(Job.job_id == job_id)
        ).one_or_none()
    if row is None:
        return None
    purpose, routes = row
    channels = {ch for chain in (routes or {}).values() for ch in chain}
    return NightScreen(store, settings, owner, purpose) if applies(purpose, channels) else None


def held_count(store: Store, job_id: str, now: datetime | None = None) -> int:
    """Queued rows of a job waiting for a later moment (held for the night, or a retry's
    backoff, or the job's own start): not sent, not finished."""
    now = now or utcnow()
    with store.reading() as session:
        n = session.scalar(
            select(func.count()).where(T.job_id == job_id, T.state == "queued", T.not_before > now)
        )
    return int(n or 0)


def parked(store: Store, job_id: str, now: datetime, horizon: datetime) -> int:
    """How many rows wait when every queued row of a started job waits past ``horizon``
    (a dispatcher's deadline), else 0: such a run has nothing left to do but wait."""
    with store.reading() as session:
        start = session.scalar(select(Job.not_before).where(Job.job_id == job_id))
        if start is not None and as_utc(start) > now:
            return 0  # the job's own window has not opened: runs wait for it, as before
        due = or_(T.not_before.is_(None), T.not_before <= horizon)
        total, soon = session.execute(
            select(func.count(), func.coalesce(func.sum(case((due, 1), else_=0)), 0)).where(
                T.job_id == job_id, T.state == "queued"
            )
        ).one()
    return int(total) if total and not soon else 0
