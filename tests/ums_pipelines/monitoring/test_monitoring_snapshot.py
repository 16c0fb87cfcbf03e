"""The snapshot's counts equal counts taken row by row from the store (both backends)."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ums_pipelines.dispatch.agents import register_agent
from ums_pipelines.lanes import Lane, lane_of, message_priority
from ums_pipelines.monitoring import take_snapshot
from ums_pipelines.monitoring.snapshot import day_start, percentile
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.engine import as_utc
from ums_pipelines.store.models import (
    DeliveryEvent,
    Job,
    Message,
    ProviderBucket,
    ProviderCircuit,
)
from ums_pipelines.store.sendplane import Agent, JobChunk

# Set anew for each test (fixture below): the snapshot's windows are relative to the real
# clock, and a module-level time would be minutes old when a long suite reaches the test.
NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
def _now() -> None:
    global NOW
    NOW = datetime.now(UTC)


ROUTES = [("sms", "sms-relay"), ("alimtalk", "kakao"), ("push", "fcm"), ("sms", "sms-relay-2")]
LANES = [Lane.AUTH, Lane.INFORMATIONAL, Lane.MARKETING]
# (state, carrier event?, failure event stage, fell back?, minutes ago)
KINDS: list[tuple[str, bool, str | None, bool, float]] = [
    ("queued", False, None, False, 20),
    ("queued", False, None, False, 1),
    ("held", False, None, False, 3),
    ("claimed", False, None, False, 2),
    ("accepted", False, None, False, 2),
    ("accepted", True, None, False, 2),
    ("delivered", True, None, False, 1),
    ("delivered", False, None, False, 2),
    ("failed", False, "handset", False, 1),
    ("failed", False, "relay", True, 2),
    ("failed", False, None, False, 3),
    ("expired", False, None, False, 4),
    ("cancelled", False, None, False, 4),
]


def seed(store: Store, job_id: str, copies: int = 2) -> None:
    n = itertools.count()
    with store.session() as session:
        for (channel, provider), lane, kind, _ in itertools.product(
            ROUTES, LANES, KINDS, range(copies)
        ):
            state, carrier, failed_at, fell_back, ago = kind
            i = next(n)
            at = NOW - timedelta(minutes=ago)
            m = Message(
                idempotency_key=f"{job_id}.{i}",
                job_id=job_id,
                customer_id=f"C{i}",
                channel=channel,
                message_type=channel.upper(),
                provider=provider,
                leg=0,
                chain=[channel],
                priority=message_priority(lane, channel),
                recipient="x",
                body="본문",
                state=state,
                lease_owner=f"owner-{i % 3}" if state == "claimed" else None,
                not_before=NOW + timedelta(hours=1) if i % 5 == 0 else None,
                created_at=at - timedelta(seconds=30),
                updated_at=at,
                submitted_at=at - timedelta(seconds=20)
                if state in ("accepted", "delivered", "failed")
                else None,
                completed_at=at if state in ("delivered", "failed") else None,
                error_code="E-X" if state == "failed" else None,
                send_round=0,
                attempts=1,
                next_leg_id=10_000_000 + i if fell_back else None,
            )
            session.add(m)
            session.flush()
            if carrier:
                session.add(_event(m.id, "carrier", "sent", at - timedelta(seconds=10)))
            if failed_at:
                status = "rejected" if failed_at == "relay" else "failed"
                session.add(_event(m.id, failed_at, status, at))
            if state == "delivered":
                session.add(_event(m.id, "handset", "delivered", at))
        # Finished yesterday (Korea time): not in today's counts.
        old = NOW - timedelta(days=2)
        for i in range(5):
            session.add(
                Message(
                    idempotency_key=f"{job_id}.old{i}", job_id=job_id, customer_id="C",
                    channel="sms", message_type="SMS", provider="sms-relay", leg=0,
                    chain=["sms"], priority=30, recipient="x", body="b", state="delivered",
                    created_at=old, updated_at=old, submitted_at=old, completed_at=old,
                    send_round=0, attempts=1,
                )
            )  # fmt: skip
        session.add(
            ProviderCircuit(
                provider="kakao", state="open", failures=0, open_until_ns=int(NOW.timestamp() * 1e9)
                + 30 * 10**9, probes=0, probe_round_ns=0, times_opened=2, updated_at=NOW,
            )
        )  # fmt: skip
        session.add(
            ProviderBucket(
                provider="sms-relay", per_second=100.0, per_hour=None, tat_ns=0, hour_window=0,
                hour_count=0, penalty_until_ns=0, rate_factor=1.0, factor_at_ns=0,
                updated_at=NOW,
            )
        )  # fmt: skip


def _event(mid: int, stage: str, status: str, at: datetime) -> DeliveryEvent:
    return DeliveryEvent(message_id=mid, stage=stage, status=status, occurred_at=at, recorded_at=at)


def expected_stages(store: Store, since: datetime) -> Counter[tuple[str, str, str, str]]:
    """Each row's stage decided one by one from the store, independently of the SQL."""
    out: Counter[tuple[str, str, str, str]] = Counter()
    with store.session() as session:
        carried = set(
            session.scalars(
                select(DeliveryEvent.message_id).where(DeliveryEvent.stage == "carrier")
            )
        )
        for m in session.scalars(select(Message)):
            updated = as_utc(m.updated_at)
            stage = m.state
            if m.state == "accepted":
                stage = "carrier" if m.id in carried else "submitted"
            elif m.state in ("delivered", "failed", "expired", "cancelled") and updated < since:
                continue
            elif m.state == "failed" and m.next_leg_id is not None:
                stage = "fell_back"
            lane = lane_of(m.priority).name.lower()
            out[(stage, m.channel, m.provider, lane)] += 1
    return out


def test_stage_counts_equal_the_store(bank: Any, store: Store, settings: Settings) -> None:
    job_id = bank.register()
    seed(store, job_id)
    snap = take_snapshot(store, settings)
    got = Counter({(s.stage, s.channel, s.provider, s.lane): s.count for s in snap.stages})
    want = expected_stages(store, snap.since)
    assert +got == +want
    totals = snap.stage_totals()
    per = len(ROUTES) * len(LANES) * 2
    assert totals["queued"] == 2 * per
    assert totals["carrier"] == per and totals["submitted"] == per
    assert totals["delivered"] == 2 * per  # the five of two days ago are not today's
    assert totals["failed"] == 2 * per and totals["fell_back"] == per
    # by channel / provider / lane fold the same rows
    assert sum(sum(v.values()) for v in snap.by("lane").values()) == sum(totals.values())
    assert snap.by("provider")["sms-relay-2"]["expired"] == len(LANES) * 2


def test_failures_by_stage_and_reason(bank: Any, store: Store, settings: Settings) -> None:
    seed(store, bank.register())
    snap = take_snapshot(store, settings)
    at = Counter()
    for f in snap.failures:
        at[(f.stage, f.at, f.reason)] += f.count
    per = len(ROUTES) * len(LANES) * 2
    assert at[("failed", "handset", "E-X")] == per
    assert at[("failed", "ums", "E-X")] == per  # no provider reported it
    assert at[("fell_back", "relay", "E-X")] == per
    assert at[("expired", "ums", "-")] == per and at[("cancelled", "ums", "-")] == per


def test_rates_latencies_backlog_circuits(bank: Any, store: Store, settings: Settings) -> None:
    seed(store, bank.register())
    snap = take_snapshot(store, settings)  # window: 5 minutes
    sms = next(r for r in snap.rates if r.provider == "sms-relay")
    copies = len(LANES) * 2
    # accepted/delivered/failed rows of the seed were submitted 20 s before their update
    assert sms.delivered == 2 * copies and sms.failed == 2 * copies and sms.fell_back == copies
    assert sms.sent == 7 * copies
    assert sms.delivered_per_min == pytest.approx(2 * copies / 5)
    assert sms.failure_share == pytest.approx(0.5)
    lat = {(x.leg, x.channel): x for x in snap.latencies}
    assert lat[("submitted_to_carrier", "sms")].p50_s == pytest.approx(10, abs=0.01)
    assert lat[("submitted_to_delivered", "sms")].p95_s == pytest.approx(20, abs=0.01)
    assert lat[("created_to_submitted", "push")].p50_s == pytest.approx(10, abs=0.01)
    lanes = {b.lane: b for b in snap.backlog}
    # queued (2 kinds) + claimed, per route and copy; some are not due yet (not_before)
    assert lanes["auth"].waiting == 3 * len(ROUTES) * 2
    assert 0 < lanes["auth"].due < lanes["auth"].waiting
    oldest = NOW - timedelta(minutes=20, seconds=30)
    want_age = (snap.taken_at - oldest).total_seconds()
    assert lanes["auth"].oldest_due_age_s == pytest.approx(want_age, abs=0.2)
    circuits = {c.provider: c for c in snap.circuits}
    assert circuits["kakao"].state == "open" and circuits["kakao"].times_opened == 2
    assert circuits["sms-relay"].per_second == 100.0 and circuits["sms-relay"].state == "unknown"
    lights = {(x.kind, x.name): x for x in snap.lights}
    assert lights[("provider", "kakao")].state == "red"
    assert lights[("lane", "auth")].state == "red"  # 20 minutes old: over 900 s
    # two sms providers: 24 delivered, 24 final failures (fell-back legs not counted)
    assert lights[("channel", "sms")].state == "red"
    assert lights[("channel", "sms")].reasons == ["failures 50.0% of 48"]
    assert snap.overall() == "red"
    few = take_snapshot(store, settings.model_copy(update={"monitoring_min_sample": 49}))
    assert [x.state for x in few.lights if (x.kind, x.name) == ("channel", "sms")] == ["green"]
    claimed = {a.agent_id: a.claimed for a in snap.agents if a.kind == "dispatcher"}
    assert sum(claimed.values()) == len(ROUTES) * len(LANES) * 2


def test_agents_alive_and_dead(store: Store, settings: Settings) -> None:
    register_agent(store, "agent-a", [0, 1], ["sms-relay"], lease_seconds=30)
    register_agent(store, "agent-b", [2], ["sms-relay"], lease_seconds=30)
    with store.session() as session:
        b = session.get(Agent, "agent-b")
        assert b is not None
        b.heartbeat_at = NOW - timedelta(minutes=5)
    snap = take_snapshot(store, settings)
    agents = {a.agent_id: a for a in snap.agents}
    assert agents["agent-a"].state == "alive" and agents["agent-a"].lanes == ["urgent", "auth"]
    assert agents["agent-b"].state == "dead" and agents["agent-b"].heartbeat_age_s > 250
    assert [x.state for x in snap.lights if x.kind == "agents"] == ["amber"]


def test_workflow_counts(bank: Any, store: Store, settings: Settings) -> None:
    bank.register("job-1")
    bank.register("job-2")
    snap = take_snapshot(store, settings)
    assert snap.jobs == {"registered": 2}
    assert snap.content == {"approved": 1}
    assert snap.approvals_pending["jobs_awaiting_approval"] == 0
    data = snap.to_json()
    assert data["stage_totals"]["queued"] == 0 and data["jobs"] == {"registered": 2}


@pytest.mark.parametrize(
    ("values", "share", "want"),
    [([], 0.5, None), ([3.0], 0.95, 3.0), ([1, 2, 3, 4], 0.5, 2), ([*range(1, 101)], 0.95, 95)],
)
def test_percentile(values: list[float], share: float, want: float | None) -> None:
    assert percentile(values, share) == want


@pytest.mark.parametrize(
    ("now", "start"),
    [
        (datetime(2026, 3, 1, 14, 59, tzinfo=UTC), datetime(2026, 2, 28, 15, 0, tzinfo=UTC)),
        (datetime(2026, 3, 1, 15, 0, tzinfo=UTC), datetime(2026, 3, 1, 15, 0, tzinfo=UTC)),
    ],
)
def test_day_starts_at_korean_midnight(now: datetime, start: datetime, settings: Settings) -> None:
    assert day_start(now, settings) == start


def test_unwritten_splits_count_until_the_job_stops(
    bank: Any, store: Store, settings: Settings
) -> None:
    job_id = bank.register()
    with store.session() as session:
        for n, state in enumerate(["pending", "claimed", "enqueued"]):
            session.add(
                JobChunk(job_id=job_id, chunk_no=n, first_index=25 * n, size=25, state=state,
                         attempts=0, updated_at=NOW)
            )  # fmt: skip
    lanes = {b.lane: b for b in take_snapshot(store, settings).backlog}
    assert lanes["informational"].unwritten == 50 and lanes["informational"].waiting == 0
    with store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.status = "paused"
    assert [b for b in take_snapshot(store, settings).backlog if b.unwritten] == []


@pytest.mark.parametrize("name", ["failure", "delivery_p95"])
def test_amber_above_red_is_refused_naming_both(name: str) -> None:
    suffix = "" if name == "failure" else "_s"
    amber, red = f"monitoring_{name}_amber{suffix}", f"monitoring_{name}_red{suffix}"
    with pytest.raises(ValueError, match=f"{amber}: 0.9 is above {red} \\(0.5\\)"):
        Settings(**{amber: 0.9, red: 0.5})


def test_backlog_limits_per_lane(settings: Settings) -> None:
    assert settings.backlog_limits("urgent") == (30, 60)
    assert settings.backlog_limits("marketing") == (1800, 3600)
    custom = Settings(monitoring_backlog_red_s={"marketing": 7200})
    assert custom.backlog_limits("marketing") == (1800, 7200)
    assert custom.backlog_limits("auth") == (30, 60)  # left out: its default
    with pytest.raises(ValueError, match=r"monitoring_backlog_red_s: \['otp'\] not lanes"):
        Settings(monitoring_backlog_red_s={"otp": 10})
    with pytest.raises(ValueError, match=r"amber_s: urgent 120\.0 is above"):
        Settings(monitoring_backlog_amber_s={"urgent": 120})
