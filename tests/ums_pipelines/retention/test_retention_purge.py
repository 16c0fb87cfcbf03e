"""Done when 3: after a purge nothing older than its policy holds the purged personal data,
aggregates are unchanged, and a customer under legal hold keeps everything."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import time_machine
from pydantic import ValidationError
from sqlalchemy import select

from ums_pipelines.analytics.export import export_to_parquet
from ums_pipelines.audit import record, verify_log
from ums_pipelines.retention.hold import place_hold
from ums_pipelines.retention.purge import NoticeError, plan_purge, purge
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import AuditLog, DeliveryEvent, Job, Message, Template

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
AGES = (10, 400, 2000)  # days: fresh, past the content policy, past the row policy
SECRET = "비밀본문"


def _seed(store: Store) -> None:
    with store.session() as s:
        t = Template(code="T", name="t", purpose="informational", created_at=NOW)
        s.add(t)
        s.flush()
        s.add(Job(job_id="J", name="j", template_id=t.id, template_version=1,
                  purpose="informational", priority=5, routes={}, sender_number="15881234",
                  department="d", status="done", created_at=NOW, updated_at=NOW))  # fmt: skip
        n = 0
        for age in AGES:
            at = NOW - timedelta(days=age)
            for cust in ("C1", "C2", "HELD"):
                for channel, state in (("sms", "delivered"), ("email", "failed")):
                    n += 1
                    m = Message(
                        idempotency_key=f"J:{cust}:{n}", job_id="J", customer_id=cust,
                        channel=channel, message_type=channel.upper(), provider="p",
                        chain=[channel], priority=5, recipient=f"{cust.lower()}@example.com",
                        subject="제목", body=f"{SECRET} {cust}", html_body="<p>x</p>",
                        payload={"k": "v"}, error_reason="bounced", state=state,
                        created_at=at, updated_at=at, attempts=1,
                    )  # fmt: skip
                    s.add(m)
                    s.flush()
                    s.add(DeliveryEvent(message_id=m.id, stage="carrier", status=state,
                                        detail=f"to {m.recipient}", occurred_at=at,
                                        recorded_at=at))  # fmt: skip


def _parquet(settings: Settings) -> pl.DataFrame:
    files = sorted((settings.parquet_dir / "messages").glob("*/data.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files])


def _aggregates(frame: pl.DataFrame) -> Counter[tuple[str, str, str]]:
    return Counter(
        (str(r["created_at"].date()), r["channel"], r["state"]) for r in frame.iter_rows(named=True)
    )


def test_purge_after_notice(store: Store, tmp_path: Path) -> None:
    store.migrate()
    settings = Settings(home=tmp_path, database_url=store.url)
    _seed(store)
    with time_machine.travel(NOW - timedelta(days=3000), tick=False), store.session() as s:
        record(s, "sys", "old.thing", "job", "J")
    with time_machine.travel(NOW - timedelta(days=1000), tick=False), store.session() as s:
        record(s, "sys", "held.thing", "customer", "HELD")
    export_to_parquet(store, settings)
    before_store = Counter((m.created_at.date(), m.channel, m.state) for m in store_rows(store))
    before_parquet = _aggregates(_parquet(settings))
    with time_machine.travel(NOW, tick=False):
        with store.session() as s:
            place_hold(s, actor="legal", reason="case 1", customer_id="HELD")
        plan = plan_purge(store, settings, actor="ops")
        assert plan.counts["message_content"] == 8  # C1, C2 x 2 channels at 400 and 2000 days
        with pytest.raises(NoticeError, match="plan"):
            purge(store, settings, actor="ops")
    with time_machine.travel(NOW + timedelta(hours=25), tick=False):
        result = purge(store, settings, actor="ops")
        with pytest.raises(NoticeError):
            purge(store, settings, actor="ops")  # the plan was carried out once
    assert result.counts["message_rows"] == 4
    assert result.counts["audit_log"] == 1  # the held customer's entry stops the prefix

    content_cut = NOW - timedelta(days=365)
    for m in store_rows(store):
        if m.customer_id == "HELD":
            assert SECRET in m.body and m.recipient == "held@example.com"
        elif m.created_at.replace(tzinfo=UTC) < content_cut:
            assert (m.recipient, m.body, m.subject, m.payload, m.error_reason) == (
                "",
                "",
                None,
                None,
                None,
            )
        else:
            assert SECRET in m.body
    # Rows past the 5-year policy are gone except the held customer's.
    assert {m.customer_id for m in store_rows(store) if m.created_at.year < 2022} == {"HELD"}
    with store.reading() as s:
        events = s.scalars(select(DeliveryEvent)).all()
        assert all("held" in (e.detail or "") or e.occurred_at.replace(tzinfo=UTC) > content_cut
                   for e in events)  # fmt: skip
        assert verify_log(s).problem is None
        assert s.scalar(select(AuditLog.action).order_by(AuditLog.id)) == "held.thing"

    parquet = _parquet(settings)
    assert _aggregates(parquet) == before_parquet
    assert not {"recipient", "body", "subject", "payload"} & set(parquet.columns)
    old = parquet.filter(pl.col("created_at") < NOW - timedelta(days=1825))
    assert set(old.get_column("customer_id").drop_nulls().to_list()) == {"HELD"}
    for f in settings.archive_dir.rglob("*.parquet"):
        text = f.read_bytes()
        assert SECRET.encode() not in text and b"example.com" not in text
        assert not {"recipient", "body", "customer_id"} & set(pl.read_parquet(f).columns) or (
            "audit_log" in f.parts
        )
    # Store aggregates per day and channel count only the rows the row policy keeps.
    after_store = Counter((m.created_at.date(), m.channel, m.state) for m in store_rows(store))
    assert {k: v for k, v in before_store.items() if k[0].year >= 2022} == {
        k: v for k, v in after_store.items() if k[0].year >= 2022
    }

    # A new plan finds nothing left: an idempotent rerun.
    with time_machine.travel(NOW + timedelta(hours=26), tick=False):
        again = plan_purge(store, settings, actor="ops", dry_run=True)
    assert again.counts == {k: 0 for k in again.counts}


def store_rows(store: Store) -> list[Message]:
    with store.reading() as s:
        return list(s.scalars(select(Message)))


def test_audit_minimum_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"retention_audit_days.*730"):
        Settings(home=tmp_path, retention_audit_days=700)
