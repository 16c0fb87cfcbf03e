"""The advertising night rule at the send plane: the window arithmetic from the settings,
the hold of a split as it is written, and the last-mile screen of a batch."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ums_pipelines.channels.windows import KST
from ums_pipelines.compliance.night import (
    HOLD_CODE,
    NightScreen,
    applies,
    held_count,
    parked,
    rule_for,
    screen_for_job,
)
from ums_pipelines.dispatch.bulk import claim_chunk, materialize_chunk, plan_chunks
from ums_pipelines.dispatch.claims import Claimed, to_claimed
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import Consent, DeliveryEvent, Message

AD_SMS = ChannelVariant("sms", "(광고) {{ name }}님 혜택 안내\n무료수신거부 080-123-4567")
AD: dict[str, Any] = {
    "purpose": Purpose.ADVERTISING,
    "lane": Lane.MARKETING,
    "variables": ("name",),
    "routes": {"sms": ["sms"]},
}


def kst(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=KST)


EXACT = Settings(night_send_margin_s=0)  # boundaries exactly, no send margin


@pytest.mark.parametrize(
    ("at", "consent", "until"),
    [
        (kst(25, 19, 59, 59), False, None),
        (kst(25, 20, 0), False, None),  # 20:00 is only FriendTalk's
        (kst(25, 20, 59, 59), False, None),
        (kst(25, 21, 0), False, kst(26, 8)),
        (kst(25, 21, 0), True, None),  # a night consent lets it go
        (kst(25, 23, 59, 59), False, kst(26, 8)),
        (kst(26, 0, 0), False, kst(26, 8)),  # past midnight: the same morning
        (kst(26, 0, 0), True, None),
        (kst(26, 7, 59, 59), False, kst(26, 8)),
        (kst(26, 8, 0), False, None),
        (kst(26, 8, 0), True, None),
    ],
)
def test_advertising_night(at: datetime, consent: bool, until: datetime | None) -> None:
    rule = rule_for(EXACT)
    assert rule.until("sms", "advertising", at, consent) == until
    assert rule.until("sms", "informational", at, False) is None  # never held


@pytest.mark.parametrize("channel", ["friendtalk", "brand"])
@pytest.mark.parametrize(
    ("at", "until"),
    [
        (kst(25, 19, 59, 59), None),
        (kst(25, 20, 0), kst(26, 8)),
        (kst(25, 21, 30), kst(26, 8)),
        (kst(26, 0, 0), kst(26, 8)),
        (kst(26, 7, 59, 59), kst(26, 8)),
        (kst(26, 8, 0), None),
    ],
)
@pytest.mark.parametrize("consent", [False, True])
def test_friendtalk_night_whatever_the_consent(
    channel: str, at: datetime, until: datetime | None, consent: bool
) -> None:
    assert rule_for(EXACT).until(channel, "advertising", at, consent) == until


def test_boundaries_are_settings() -> None:
    settings = Settings(
        night_send_margin_s=0,
        ad_night_start=time(22, 0),
        ad_night_end=time(7, 0),
        friendtalk_night_start=time(20, 50),
    )
    rule = rule_for(settings)
    assert rule.until("sms", "advertising", kst(25, 21, 30), False) is None
    assert rule.until("sms", "advertising", kst(25, 22, 0), False) == kst(26, 7)
    assert rule.until("sms", "advertising", kst(26, 7, 0), False) is None
    assert rule.until("friendtalk", "advertising", kst(25, 20, 49), True) is None
    assert rule.until("friendtalk", "advertising", kst(25, 20, 50), True) == kst(26, 8)


def test_the_margin_holds_early_and_never_releases_early() -> None:
    rule = rule_for(Settings(night_send_margin_s=5))
    # 20:59:56: the request could reach the provider after 21:00.
    assert rule.until("sms", "advertising", kst(25, 20, 59, 56), False) == kst(26, 8)
    assert rule.until("sms", "advertising", kst(25, 20, 59, 54), False) is None
    assert rule.until("sms", "advertising", kst(26, 7, 59, 58), False) == kst(26, 8)
    assert rule.until("sms", "advertising", kst(26, 8, 0), False) is None
    assert not rule.in_force(kst(25, 19, 59, 54))
    assert rule.in_force(kst(25, 19, 59, 56))  # FriendTalk's night is near


def test_utc_moments_are_judged_in_korea_time() -> None:
    rule = rule_for(EXACT)
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 21:00 KST
    assert rule.until("sms", "advertising", at, False) == datetime(2026, 11, 25, 23, tzinfo=UTC)


def test_applies_to_advertising_and_kakao_ad_channels_only() -> None:
    assert applies("advertising", ["sms"])
    assert applies("informational", ["alimtalk", "friendtalk"])
    assert not applies("informational", ["sms", "alimtalk", "push", "email"])
    assert not applies("auth", ["sms"])


# -- in the store ----------------------------------------------------------------------


def night_consent(bank: Any, customer_id: str, channel: str = "sms") -> None:
    with bank.store.session() as session:
        session.add(
            Consent(
                customer_id=customer_id,
                channel=channel,
                purpose="night_ad",
                granted=True,
                consented_at=datetime.now(UTC),
                source="test",
            )
        )


def ad_job(bank: Any, night: set[int], n: int = 6, **kwargs: Any) -> str:
    for i in range(n):
        bank.add_customer(f"N{i:03d}", phone=f"010{40000000 + i:08d}", purpose="ad")
        if i in night:
            night_consent(bank, f"N{i:03d}")
    options = {**AD, **kwargs}
    return str(bank.targeted(template_code="ad-night", variants=(AD_SMS,), **options))


def write_split(bank: Any, job_id: str, now: datetime) -> list[Claimed]:
    plan_chunks(bank.store, job_id)
    with bank.store.session() as session:
        chunk = claim_chunk(session, job_id, "writer", timedelta(minutes=1), now)
    assert chunk is not None
    return materialize_chunk(
        bank.store, bank.settings, job_id, chunk, "writer", timedelta(minutes=1), now=now
    )


def held_events(bank: Any) -> dict[int, str]:
    with bank.store.session() as session:
        rows = session.execute(
            select(DeliveryEvent.message_id, DeliveryEvent.detail).where(
                DeliveryEvent.code == HOLD_CODE, DeliveryEvent.status == "held"
            )
        ).all()
    return {mid: detail for mid, detail in rows}


def test_a_split_written_at_night_holds_who_has_no_night_consent(bank: Any) -> None:
    job_id = ad_job(bank, night={1, 4})
    claimed = write_split(bank, job_id, kst(25, 23, 0).astimezone(UTC))
    rows = {m.customer_id: m for m in bank.messages(job_id)}
    assert {c for c, m in rows.items() if m.state == "claimed"} == {"N001", "N004"}
    assert {c.id for c in claimed} == {rows["N001"].id, rows["N004"].id}
    waiting = [m for m in rows.values() if m.state == "queued"]
    assert len(waiting) == 4
    assert all(m.not_before is not None and as_utc(m.not_before) == kst(26, 8) for m in waiting)
    assert all(m.submitted_at is None for m in waiting)
    events = held_events(bank)
    assert set(events) == {m.id for m in waiting}
    assert all("08:00" in d and "night consent" in d for d in events.values())
    assert held_count(bank.store, job_id, kst(25, 23, 1).astimezone(UTC)) == 4


def test_a_split_written_by_day_holds_nothing(bank: Any) -> None:
    job_id = ad_job(bank, night=set())
    claimed = write_split(bank, job_id, kst(26, 10, 0).astimezone(UTC))
    assert len(claimed) == 6 and not held_events(bank)


def test_informational_jobs_are_not_held_at_night(bank: Any) -> None:
    for i in range(4):
        bank.add_customer(f"I{i:03d}", phone=f"010{50000000 + i:08d}")
    job_id = bank.targeted(routes={"sms": ["sms"]})
    assert screen_for_job(bank.store, bank.settings, job_id, "o") is None  # pays nothing
    claimed = write_split(bank, job_id, kst(25, 23, 0).astimezone(UTC))
    assert len(claimed) == 4 and not held_events(bank)


def test_a_later_job_start_is_respected(bank: Any) -> None:
    # Written at 18:00 for a job that starts at 22:00: held from 22:00 until 08:00.
    from ums_pipelines.jobs import SendPlan

    # In UTC: register_job stores a +09:00 time's wall clock as UTC on SQLite.
    plan = SendPlan(not_before=kst(25, 22, 0).astimezone(UTC))
    job_id = ad_job(bank, night={0}, n=2, plan=plan)
    assert write_split(bank, job_id, kst(25, 18, 0).astimezone(UTC)) == []
    rows = {m.customer_id: m for m in bank.messages(job_id)}
    assert as_utc(rows["N000"].not_before) == kst(25, 22, 0)  # the job's own start
    assert as_utc(rows["N001"].not_before) == kst(26, 8)


def claimed_rows(bank: Any, job_id: str, channel: str, owner: str) -> list[Claimed]:
    """The job's rows moved to ``channel`` and claimed by ``owner`` (as a sweep would)."""
    from ums_pipelines.dispatch.claims import CLAIM_COLUMNS, MESSAGES, T

    with bank.store.session() as session:
        session.execute(
            MESSAGES.update()
            .where(T.job_id == job_id)
            .values(
                channel=channel,
                state="claimed",
                lease_owner=owner,
                lease_expires_at=datetime.now(UTC) + timedelta(minutes=1),
                attempts=1,
            )
        )
        rows = session.execute(select(*CLAIM_COLUMNS).where(T.job_id == job_id).order_by(T.id))
        return [to_claimed(r) for r in rows]


@pytest.mark.parametrize("per_job", [True, False])  # the dispatcher's, the agent's
def test_the_last_mile_hands_back_what_may_not_go_now(bank: Any, per_job: bool) -> None:
    job_id = ad_job(bank, night={0, 2})
    write_split(bank, job_id, kst(25, 12, 0).astimezone(UTC))
    batch = claimed_rows(bank, job_id, "sms", "sender-1")
    screen = NightScreen(bank.store, bank.settings, "sender-1", "advertising" if per_job else None)
    assert screen(batch, kst(25, 20, 30).astimezone(UTC)) == batch  # before 21:00
    sent = screen(batch, kst(25, 21, 0, 1).astimezone(UTC))
    rows = {m.id: m for m in bank.messages(job_id)}
    assert {rows[c.id].customer_id for c in sent} == {"N000", "N002"}
    back = [m for m in rows.values() if m.customer_id not in ("N000", "N002")]
    assert all(m.state == "queued" and m.lease_owner is None for m in back)
    assert all(as_utc(m.not_before) == kst(26, 8) and m.attempts == 0 for m in back)
    assert set(held_events(bank)) == {m.id for m in back}


def test_friendtalk_is_held_in_its_night_whatever_the_consent(bank: Any) -> None:
    job_id = ad_job(bank, night={0})
    night_consent(bank, "N000", "friendtalk")
    write_split(bank, job_id, kst(25, 12, 0).astimezone(UTC))
    batch = claimed_rows(bank, job_id, "friendtalk", "sender-1")
    screen = NightScreen(bank.store, bank.settings, "sender-1")
    assert screen(batch, kst(25, 20, 10).astimezone(UTC)) == []
    assert {m.state for m in bank.messages(job_id)} == {"queued"}


def test_rows_of_another_owner_are_neither_sent_nor_moved(bank: Any) -> None:
    job_id = ad_job(bank, night=set(), n=2)
    write_split(bank, job_id, kst(25, 12, 0).astimezone(UTC))
    batch = claimed_rows(bank, job_id, "sms", "someone-else")
    screen = NightScreen(bank.store, bank.settings, "sender-1", "advertising")
    assert screen(batch, kst(25, 22, 0).astimezone(UTC)) == []
    assert {(m.state, m.lease_owner) for m in bank.messages(job_id)} == {
        ("claimed", "someone-else")
    }
    assert not held_events(bank)


def test_parked_only_when_everything_left_waits_past_the_horizon(bank: Any) -> None:
    job_id = ad_job(bank, night={0})
    now = kst(25, 23, 0).astimezone(UTC)
    write_split(bank, job_id, now)  # N000 claimed, five held until 08:00
    assert parked(bank.store, job_id, now, now + timedelta(hours=1)) == 5
    assert parked(bank.store, job_id, now, kst(26, 8, 0, 1).astimezone(UTC)) == 0
    with bank.store.session() as session:
        first = session.scalars(
            select(Message).where(Message.job_id == job_id, Message.state == "queued")
        ).first()
        assert first is not None
        first.not_before = None  # one row due now: the run goes on
    assert parked(bank.store, job_id, now, now + timedelta(hours=1)) == 0
