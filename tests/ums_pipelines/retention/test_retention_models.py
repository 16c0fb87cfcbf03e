"""Done when 3, on the SQL models: a purge that takes every class of the seeded days
(content, events, rows, links and clicks, replies) leaves the daily reports and the
response counts (opened, clicked, replied) as they were, and no customer id behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import time_machine
from sqlalchemy import func, select

from ums_pipelines.analytics import export_to_parquet, read_only_connection, run_all
from ums_pipelines.retention.purge import plan_purge, purge
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.contact import MoMessage
from ums_pipelines.store.content import LinkClick, ShortLink
from ums_pipelines.store.models import DeliveryEvent, Message

LATER = datetime(2031, 6, 1, 3, 0, tzinfo=UTC)  # past every period of the 2025 seed


def _responses(store: Store) -> None:
    """A click, an open and a reply on three of the seed's messages."""
    with store.session() as s:
        first = s.scalars(select(Message).order_by(Message.id).limit(3)).all()
        clicked, opened, replied = first
        s.add(ShortLink(code="CLICKCODE234", message_key=clicked.idempotency_key, position=0,
                        kind="link", job_id=clicked.job_id, customer_id=clicked.customer_id,
                        target_url="https://bank.example/e", created_at=clicked.created_at,
                        expires_at=clicked.created_at + timedelta(days=90)))  # fmt: skip
        at = clicked.created_at + timedelta(hours=1)
        s.add(LinkClick(code="CLICKCODE234", clicked_at=at, user_agent="phone"))
        s.add(DeliveryEvent(message_id=opened.id, stage="handset", status="opened",
                            code="pixel", occurred_at=opened.created_at + timedelta(hours=1),
                            recorded_at=opened.created_at + timedelta(hours=1)))  # fmt: skip
        s.add(MoMessage(provider="p", channel="sms", provider_mo_id="m1", sender="+8210",
                        recipient="1588", text="네", message_id=replied.id,
                        customer_id=replied.customer_id, route="care",
                        received_at=replied.created_at + timedelta(hours=1),
                        recorded_at=replied.created_at + timedelta(hours=1)))  # fmt: skip


def _reports(settings: Settings) -> dict[str, Any]:
    run_all(settings)
    with read_only_connection(settings) as db:
        return {
            name: db.execute(f"select * from {name} order by all").fetchall()
            for name in ("rpt_daily_channel", "rpt_daily_response")
        } | {
            "customers": db.execute(
                "select count(customer_id) from fct_messages where sent_day < date '2026-01-01'"
            ).fetchone()
        }


def test_reports_and_responses_survive_a_full_purge(
    seed: ModuleType, store: Store, settings: Settings
) -> None:
    seed.seed_scenario(store)
    _responses(store)
    export_to_parquet(store, settings)
    before = _reports(settings)
    response = before["rpt_daily_response"]
    # report_day, job_id, channel, contacts, delivered, opened, clicked, clicks, replied
    assert [sum(r[i] for r in response) for i in (5, 6, 8)] == [1, 1, 1]
    assert before["customers"][0] > 0

    with time_machine.travel(LATER, tick=False):
        plan_purge(store, settings, actor="ops")
    with time_machine.travel(LATER + timedelta(hours=25), tick=False):
        result = purge(store, settings, actor="ops")
        export_to_parquet(store, settings)
    assert result.counts["message_rows"] > 0 and result.counts["short_links"] == 1
    assert result.counts["link_clicks"] == 1 and result.counts["mo_replies"] == 1
    with store.reading() as s:
        for table in (Message, DeliveryEvent, ShortLink, LinkClick, MoMessage):
            assert s.scalar(select(func.count()).select_from(table)) == 0, table

    after = _reports(settings)
    assert after["rpt_daily_channel"] == before["rpt_daily_channel"]
    assert after["rpt_daily_response"] == before["rpt_daily_response"]
    assert after["customers"] == (0,)
