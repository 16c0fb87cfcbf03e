"""Contact/response models over the seeded store (both backends): clicks and MO replies
are exported, staged, attached to the contact (first leg and its fallbacks) and counted
per day, job and first channel — exact numbers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from types import ModuleType

import duckdb
import pytest
from sqlalchemy.orm import Session

from ums_pipelines.analytics import export_to_parquet, read_only_connection, run_all
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.contact import MoMessage
from ums_pipelines.store.content import LinkClick, ShortLink
from ums_pipelines.store.models import Message


def link(s: Session, code: str, m: Message, kind: str = "link") -> str:
    s.add(
        ShortLink(
            code=code,
            message_key=m.idempotency_key,
            position=0,
            kind=kind,
            job_id=m.job_id,
            customer_id=m.customer_id,
            target_url="https://bank.example/x",
            created_at=m.created_at,
        )
    )
    s.flush()
    return code


def click(s: Session, code: str, at: datetime) -> None:
    s.add(LinkClick(code=code, clicked_at=at, user_agent="Mozilla/5.0"))


def reply(s: Session, n: int, at: datetime, route: str, message_id: int | None) -> None:
    s.add(
        MoMessage(
            provider="sms-sim",
            channel="sms",
            provider_mo_id=f"mo-{n}",
            sender="+821098765432",
            recipient="15880000",
            text="수신거부" if route == "opt_out" else "문의드립니다",
            received_at=at,
            recorded_at=at + timedelta(seconds=2),
            message_id=message_id,
            customer_id=None,
            keyword="수신거부" if route == "opt_out" else None,
            route=route,
        )
    )


@pytest.fixture
def responses(
    seed: ModuleType, store: Store, settings: Settings
) -> Iterator[duckdb.DuckDBPyConnection]:
    ids = seed.seed_scenario(store)
    with store.session() as s:
        m = {label: s.get(Message, i) for label, i in ids.items()}
        d1, d2 = seed.D1, seed.D2
        click(s, link(s, "L1", m["p1"]), seed.kst(d1, 9, 5))
        click(s, "L1", seed.kst(d1, 9, 10))
        click(s, link(s, "L3", m["a3"]), seed.kst(d1, 10, 2))  # on p3's fallback leg
        click(s, link(s, "F1", m["a1"], kind="feedback"), seed.kst(d1, 12, 1))
        click(s, link(s, "E1", m["e1"]), seed.kst(d2, 23, 59, 59))
        link(s, "N1", m["p2"])  # a link never clicked
        reply(s, 1, seed.kst(d1, 14, 3), "care", ids["s1"])
        reply(s, 2, seed.kst(d1, 13, 5), "opt_out", ids["s3"])  # a4's fallback leg
        reply(s, 3, seed.kst(d1, 15), "unmatched", None)
        for label in ("e1", "p2"):  # e1's pixel loaded; p2 tapped in the app
            seed.add_event(s, m[label], "handset", "opened", 30)
    export_to_parquet(store, settings)
    run_all(settings)
    with read_only_connection(settings) as conn:
        yield conn


def test_staging_types_and_korea_days(
    responses: duckdb.DuckDBPyConnection, seed: ModuleType
) -> None:
    clicks = responses.execute(
        "select short_code, link_kind, click_day from stg_link_clicks order by click_id"
    ).fetchall()
    assert clicks == [
        ("L1", "link", seed.D1),
        ("L1", "link", seed.D1),
        ("L3", "link", seed.D1),
        ("F1", "feedback", seed.D1),
        ("E1", "link", seed.D2),  # 23:59:59 KST is 14:59:59 UTC: still D2 in Korea
    ]
    replies = responses.execute(
        "select route, message_id is null, reply_day from stg_mo_replies order by mo_id"
    ).fetchall()
    assert replies == [
        ("care", False, seed.D1),
        ("opt_out", False, seed.D1),
        ("unmatched", True, seed.D1),
    ]
    columns = {r[0] for r in responses.execute("describe stg_mo_replies").fetchall()}
    assert not columns & {"sender", "recipient", "text", "customer_id"}  # no personal data


def test_fct_responses_attach_responses_to_the_contact(
    responses: duckdb.DuckDBPyConnection,
) -> None:
    rows = responses.execute(
        "select s.idempotency_key, r.legs, r.is_delivered, r.delivered_channel, r.clicks, "
        "r.feedback_clicks, r.replies, r.opted_out from fct_responses r "
        "join stg_messages s on s.message_id = r.contact_id order by 1"
    ).fetchall()
    got = {r[0]: r[1:] for r in rows}
    assert len(got) == 15  # 17 messages, 2 of them fallback legs
    assert got["p1"] == (1, True, "push", 2, 0, 0, False)
    assert got["p3"] == (2, True, "alimtalk", 1, 0, 0, False)  # clicked on its fallback leg
    assert got["a1"] == (1, True, "alimtalk", 1, 1, 0, False)
    assert got["a4"] == (2, True, "sms", 0, 0, 1, True)  # opted out answering its LMS leg
    assert got["s1"] == (1, True, "sms", 0, 0, 1, False)
    assert got["p2"] == (1, True, "push", 0, 0, 0, False)  # a link, never clicked
    assert got["s2"] == (1, False, None, 0, 0, 0, False)
    assert "a3" not in got and "s3" not in got


def test_rpt_daily_response_counts_and_rates(
    responses: duckdb.DuckDBPyConnection, seed: ModuleType
) -> None:
    rows = responses.execute(
        "select report_day, channel, contacts, delivered, opened, clicked, clicks, replied, "
        "opted_out, click_rate, reply_rate from rpt_daily_response order by report_day, channel"
    ).fetchall()
    d0, d1, d2 = seed.D0, seed.D1, seed.D2
    assert rows == [
        (d0, "push", 1, 1, 0, 0, 0, 0, 0, 0.0, 0.0),
        (d0, "sms", 1, 0, 0, 0, 0, 0, 0, None, None),
        (d1, "alimtalk", 3, 2, 0, 1, 1, 1, 1, 0.5, 0.5),
        (d1, "push", 6, 4, 1, 2, 3, 0, 0, 0.5, 0.0),
        (d1, "sms", 3, 1, 0, 0, 0, 1, 0, 0.0, 1.0),
        (d2, "email", 1, 1, 1, 1, 1, 0, 0, 1.0, 0.0),
    ]
