"""The daily report's totals equal the store's own counts of the same Korea-time day.

A generated traffic mix (several jobs, every channel the report names, fallback legs that
cross Korea midnight, expired, cancelled and still-in-flight messages, a leg delivered
after its fallback started) is exported and modelled; for each day, rpt_daily_channel per
channel and message type, and the rendered HTML page's channel rows and total, must equal
counts taken with SQL directly on the store (both backends). The store-side SQL restates
the outcome rules of docs/analytics.md independently of sql/.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from reports.render import render_daily_report
from ums_pipelines.analytics import export_to_parquet, read_only_connection, run_all
from ums_pipelines.analytics.checks import run_checks
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Message

DAYS = [date(2025, 6, 1) + timedelta(days=i) for i in range(4)]
JOBS = ("job-recon-notice", "job-recon-card", "job-recon-loan")
# First channel and message type, and the fallback leg it hands over to.
ROUTES: list[tuple[tuple[str, str], tuple[str, str] | None]] = [
    (("alimtalk", "ALIMTALK"), ("sms", "LMS")),
    (("alimtalk", "ALIMTALK"), ("sms", "SMS")),
    (("push", "PUSH"), ("alimtalk", "ALIMTALK")),
    (("sms", "SMS"), None),
    (("sms", "LMS"), None),
    (("email", "EMAIL"), None),
]
# Outcome of a leg: (state, has a next leg). Weighted towards delivery, like real traffic.
OUTCOMES = [
    ("delivered", False),
    ("delivered", False),
    ("delivered", False),
    ("delivered", False),
    ("failed", False),
    ("failed", True),
    ("failed", True),
    ("expired", False),
    ("expired", True),  # leg timed out: the next leg went instead
    ("cancelled", False),
    ("queued", False),
    ("held", False),
    ("submitted", False),
    ("accepted", False),
    ("delivered", True),  # late receipt: delivered after its fallback had started
]
COUNTS = ("requested", "sent", "delivered", "failed", "fell_back", "expired", "cancelled")
COUNTS += ("in_flight",)


ZONE = ZoneInfo("Asia/Seoul")  # the settings fixture's default zone


def _kst(day: date, seconds: float) -> datetime:
    local = datetime.combine(day, time.min, tzinfo=ZONE) + timedelta(seconds=seconds)
    return local.astimezone(UTC)


def _generate(seed: ModuleType, store: Store, messages: int = 900) -> int:
    """Seed ``messages`` first legs (plus their fallback legs); return rows written."""
    rng = random.Random(20250601)
    written = 0
    with store.session() as s:
        for job in JOBS:
            seed.seed_job(s, job)
        for i in range(messages):
            day = rng.choice(DAYS)
            # One in five right around Korea midnight (23:58-24:00 or 00:00-00:02).
            if rng.random() < 0.2:
                at = _kst(day, rng.choice([86_400 - rng.uniform(1, 120), rng.uniform(0, 120)]))
            else:
                at = _kst(day, rng.uniform(8 * 3600, 21 * 3600))
            (channel, mtype), next_route = rng.choice(ROUTES)
            parent = None
            leg_at = at
            while True:
                state, hands_over = rng.choice(OUTCOMES)
                hands_over = hands_over and next_route is not None and parent is None
                sent = state not in ("queued", "held", "cancelled") or rng.random() < 0.2
                done = state in ("delivered", "failed", "expired", "cancelled") or None
                msg = seed.add_message(
                    s,
                    f"r{i}-{0 if parent is None else 1}",
                    channel=channel,
                    message_type=mtype,
                    state=state,
                    created_at=leg_at,
                    submitted_after=rng.uniform(0.2, 3) if sent and state != "cancelled" else None,
                    completed_after=rng.uniform(3, 400) if done else None,
                    parent=parent,
                    error_code="E-TEST" if state == "failed" else None,
                    job_id=rng.choice(JOBS),
                )
                written += 1
                if state == "delivered" and rng.random() < 0.3:
                    seed.add_event(s, msg, "handset", "delivered", 3)
                if not hands_over or next_route is None:
                    break
                # The next leg starts a little later, sometimes on the next Korea day.
                parent, leg_at = msg, leg_at + timedelta(seconds=rng.uniform(5, 90))
                channel, mtype = next_route
    return written


def _store_counts(store: Store, day: date) -> dict[tuple[str, str], dict[str, int]]:
    """Per (channel, message type): the report's counts, straight from the outbox."""
    m = Message
    start = datetime.combine(day, time.min, tzinfo=ZONE).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZONE).astimezone(UTC)
    final = ("delivered", "failed", "expired", "cancelled")
    reached = ("submitted", "accepted", "delivered")  # states only a sent message has
    no_next = m.next_leg_id.is_(None)

    def n(cond: ColumnElement[bool]) -> Any:
        return func.sum(case((cond, 1), else_=0))

    stmt = (
        select(
            m.channel,
            m.message_type,
            func.count(),
            n(or_(m.submitted_at.is_not(None), m.state.in_(reached))),
            n(m.state == "delivered"),
            n(and_(m.state == "failed", no_next)),
            n(and_(m.state != "delivered", m.next_leg_id.is_not(None))),
            n(and_(m.state == "expired", no_next)),
            n(and_(m.state == "cancelled", no_next)),
            n(and_(m.state.not_in(final), no_next)),
        )
        .where(m.created_at >= start, m.created_at < end)
        .group_by(m.channel, m.message_type)
    )
    with store.session() as session:
        rows = session.execute(stmt).all()
    return {(r[0], r[1]): dict(zip(COUNTS, map(int, r[2:]), strict=True)) for r in rows}


def _report_counts(settings: Settings, day: date) -> dict[tuple[str, str], dict[str, int]]:
    with read_only_connection(settings) as conn:
        rows = conn.execute(
            f"select channel, message_type, {', '.join(COUNTS)} "
            "from rpt_daily_channel where report_day = ?",
            [day],
        ).fetchall()
    return {(r[0], r[1]): dict(zip(COUNTS, r[2:], strict=True)) for r in rows}


def _sum(groups: list[dict[str, int]], name: str) -> int:
    return sum(g[name] for g in groups)


@pytest.fixture
def traffic(seed: ModuleType, store: Store, settings: Settings) -> int:
    written = _generate(seed, store)
    export_to_parquet(store, settings)
    run_all(settings)
    return written


def test_rpt_daily_channel_totals_equal_the_store_for_every_day(
    traffic: int, store: Store, settings: Settings
) -> None:
    day_totals = [_store_counts(store, d) for d in DAYS]
    # The mix has what matters: every outcome, most channel/types each day, and fallback
    # legs on the Korea day after their parent's.
    groups = [g for day in day_totals for g in day.values()]
    assert traffic > 900 and _sum(groups, "requested") == traffic
    assert all(_sum(groups, name) > 0 for name in COUNTS)
    assert all(len(day) >= 5 for day in day_totals)
    with store.session() as session:
        pairs = session.execute(
            select(Message.created_at, Message.parent_id).where(Message.parent_id.is_not(None))
        ).all()
        parents = dict(session.execute(select(Message.id, Message.created_at)).all())
    assert any(_day(at) != _day(parents[parent]) for at, parent in pairs)

    for day, expected in zip(DAYS, day_totals, strict=True):
        assert _report_counts(settings, day) == expected, day


def _day(at: datetime) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(ZONE).date()


def test_the_rendered_daily_report_shows_the_store_totals(
    traffic: int,
    store: Store,
    settings: Settings,
    parse_report: Callable[[str], Any],
) -> None:
    with read_only_connection(settings) as conn:
        names = dict(
            conn.execute(
                "select channel, channel_name_ko || ' ' || channel_name_en from dim_channel"
            ).fetchall()
        )
    shown = ("requested", "sent", "delivered", "failed", "fell_back")
    for day in DAYS:
        counts = _store_counts(store, day)
        per_channel: dict[str, list[int]] = {}
        for (channel, _type), c in counts.items():
            line = per_channel.setdefault(channel, [0] * len(shown))
            for i, name in enumerate(shown):
                line[i] += c[name]
        dom = parse_report(render_daily_report(settings, day).read_text(encoding="utf-8"))
        table = dom.tables["channel-table"]

        rows = {row[0]: row[1:6] for row in table["tbody"]}
        assert rows == {names[ch]: [f"{v:,}" for v in line] for ch, line in per_channel.items()}
        [total] = table["tfoot"]
        groups = list(counts.values())
        assert total[1:6] == [f"{_sum(groups, n):,}" for n in shown], day


def test_every_declared_check_passes_on_the_generated_traffic(
    traffic: int, store: Store, settings: Settings
) -> None:
    failed = [
        (model, r.spec.name, r.samples, r.error)
        for model, results in run_checks(settings, store=store).items()
        for r in results
        if not r.passed
    ]
    assert failed == []
