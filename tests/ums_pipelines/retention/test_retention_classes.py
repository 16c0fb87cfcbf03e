"""The classes around messages (short links and clicks, MO replies, real-time requests,
quarantined rows and change files, contact counts, target lists): after a purge nothing
older than its policy holds the purged personal data, in the store, the archive or on
disk; counts survive in the archive; a customer under legal hold keeps everything."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import time_machine
from sqlalchemy import func, select

from ums_pipelines.analytics.export import day_path, export_to_parquet
from ums_pipelines.retention.hold import place_hold
from ums_pipelines.retention.policy import CLASSES, policies
from ums_pipelines.retention.purge import plan_purge, purge
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.compliance import RecipientDay
from ums_pipelines.store.contact import MoMessage
from ums_pipelines.store.content import LinkClick, ShortLink
from ums_pipelines.store.models import CustomerChangeFile, Job, Message, QuarantinedRow, Template
from ums_pipelines.store.sendplane import SendRequest
from ums_pipelines.targets import targets_path

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=400)  # past every class's default period except message rows
ANCIENT = NOW - timedelta(days=2000)  # past the message rows' 5 years
FRESH = NOW - timedelta(days=3)
PHONE = "01055512345"  # the personal data each class carries: it must not survive
CUSTOMERS = ("C1", "HELD")


def _job(s: Any, job_id: str, template_id: int) -> None:
    s.add(Job(job_id=job_id, name="j", template_id=template_id, template_version=1,
              purpose="informational", priority=5, routes={}, sender_number="15881234",
              department="d", status="done", created_at=NOW, updated_at=NOW))  # fmt: skip


def _seed(store: Store, settings: Settings) -> None:
    with store.session() as s:
        t = Template(code="T", name="t", purpose="informational", created_at=NOW)
        s.add(t)
        s.flush()
        _job(s, "J", t.id)
        _job(s, "GONE", t.id)
        s.flush()
        n = 0
        for cust in CUSTOMERS:
            for at, live in ((OLD, False), (OLD, True), (FRESH, True)):
                n += 1
                expires = NOW + timedelta(days=30) if live else at + timedelta(days=90)
                code = f"CODE{n:08d}"
                s.add(ShortLink(code=code, message_key=f"J:{cust}:{n}", position=0, kind="link",
                                job_id="J", customer_id=cust, created_at=at, expires_at=expires,
                                target_url=f"https://bank.example/p?tel={PHONE}"))  # fmt: skip
                s.add(LinkClick(code=code, clicked_at=at + timedelta(hours=1),
                                user_agent=f"agent {PHONE}"))  # fmt: skip
            for at in (OLD, FRESH):
                n += 1
                s.add(MoMessage(provider="p", channel="sms", provider_mo_id=f"mo{n}",
                                sender=f"+82{PHONE[1:]}", recipient="15881234",
                                text=f"답장 {PHONE}", received_at=at, recorded_at=at,
                                customer_id=cust, route="care"))  # fmt: skip
            for at, key in ((OLD, "old"), (FRESH, "fresh"), (ANCIENT, "ancient")):
                s.add(SendRequest(caller="core", caller_key=f"{cust}-{key}", job_id="J",
                                  customer_id=cust, variables={"phone": PHONE}, lane=2,
                                  state="rejected", error=f"phone {PHONE} barred",
                                  received_at=at))  # fmt: skip
            for day, count in ((OLD.date(), 2), (FRESH.date(), 1)):
                s.add(RecipientDay(customer_id=cust, day=day, channel="sms",
                                   purpose="informational", count=count))  # fmt: skip
        for at, name in ((OLD, "old.csv"), (FRESH, "new.csv")):
            f = CustomerChangeFile(file_name=name, sha256=name * 8, received_at=at,
                                   status="partial")  # fmt: skip
            s.add(f)
            s.flush()
            for line, cust in enumerate(CUSTOMERS, 2):
                s.add(QuarantinedRow(file_id=f.id, line_no=line, field="phone", reason="bad",
                                     raw=f"{cust},{PHONE}", cells={"customer_id": cust,
                                                                  "phone": PHONE}))  # fmt: skip
        # A job whose only message is past 5 years: its target list goes with it.
        s.add(Message(idempotency_key="GONE:C1:0", job_id="GONE", customer_id="C1",
                      channel="sms", message_type="SMS", provider="p", chain=["sms"],
                      priority=5, recipient=PHONE, body="b", state="delivered",
                      created_at=ANCIENT, updated_at=ANCIENT))  # fmt: skip
    folder = settings.customer_inbox / "processed"
    folder.mkdir(parents=True)
    for name, cust, at in (("a.csv", "C1", OLD), ("b.csv", "HELD", OLD), ("c.csv", "C1", FRESH)):
        path = folder / name
        path.write_text(f"customer_id,phone\n{cust},{PHONE}\n")
        os.utime(path, (at.timestamp(), at.timestamp()))
    # The analytics copy of clicks (analytics/export.py): the message named by its key.
    clicks = day_path(settings.parquet_dir, "link_clicks", ANCIENT.date())
    clicks.parent.mkdir(parents=True)
    pl.DataFrame(
        {"id": [1, 2], "code": ["CODE1", "CODE2"], "message_key": ["GONE:C1:0", "J:HELD:9"]}
    ).write_parquet(clicks)
    for job_id in ("GONE", "J"):
        targets_path(settings, job_id).parent.mkdir(parents=True, exist_ok=True)
        pl.DataFrame({"customer_id": ["C1"]}).write_parquet(targets_path(settings, job_id))


def _texts(store: Store) -> list[tuple[str, str | None, datetime | date | None, str]]:
    """(table, customer, time, the row as text) of every row of the classes."""
    out: list[tuple[str, str | None, datetime | date | None, str]] = []
    with store.reading() as s:
        for link in s.scalars(select(ShortLink)):
            out.append(("short_links", link.customer_id, link.created_at, link.target_url))
        for click, cust, at in s.execute(
            select(LinkClick, ShortLink.customer_id, ShortLink.created_at).join(
                ShortLink, ShortLink.code == LinkClick.code, isouter=True
            )
        ):
            out.append(("link_clicks", cust, at, click.user_agent or ""))
        for mo in s.scalars(select(MoMessage)):
            out.append(("mo_messages", mo.customer_id, mo.received_at, mo.sender + mo.text))
        for r in s.scalars(select(SendRequest)):
            out.append(("send_requests", r.customer_id, r.received_at, f"{r.variables}{r.error}"))
        for q, at in s.execute(
            select(QuarantinedRow, CustomerChangeFile.received_at).join(CustomerChangeFile)
        ):
            out.append(("quarantined_rows", (q.cells or {}).get("customer_id"), at, q.raw))
        for d in s.scalars(select(RecipientDay)):
            out.append(("recipient_days", d.customer_id, d.day, d.customer_id))
    return out


def _old(at: datetime | date | None) -> bool:
    if isinstance(at, datetime):
        return at.replace(tzinfo=UTC) < NOW - timedelta(days=60)
    return at is not None and at < (NOW - timedelta(days=60)).date()


def test_every_class_purged_after_notice(store: Store, tmp_path: Path) -> None:
    store.migrate()
    settings = Settings(home=tmp_path, database_url=store.url)
    _seed(store, settings)
    export_to_parquet(store, settings)
    with time_machine.travel(NOW, tick=False):
        with store.session() as s:
            place_hold(s, actor="legal", reason="case 7", customer_id="HELD")
        plan = plan_purge(store, settings, actor="ops")
    skip = ("audit_log", "message_content")
    assert {k: plan.counts[k] for k in plan.counts if k not in skip} == {
        "delivery_events": 0,
        "message_rows": 1,
        "short_links": 1,  # C1's expired old link; the live one stays until it expires
        "mo_replies": 1,
        "send_request_payloads": 2,  # C1's old and ancient requests
        "send_request_rows": 1,  # C1's ancient one (no message row to keep it)
        "quarantined_rows": 1,
        "change_files": 1,
        "contact_counts": 1,
    }
    with time_machine.travel(NOW + timedelta(hours=25), tick=False):
        result = purge(store, settings, actor="ops")
    assert (result.counts["link_clicks"], result.counts["job_targets"]) == (1, 1), result.counts
    assert result.archived["mo_replies"] == 1 and result.archived["link_clicks"] == 1

    rows = _texts(store)
    # The held customer keeps everything it had: 3 links, 3 clicks, 2 replies, 3
    # requests (with their variables), 2 quarantined rows and 2 daily counts.
    held = [r for r in rows if r[1] == "HELD"]
    assert sorted(t for t, *_ in held) == sorted(
        ["short_links"] * 3 + ["link_clicks"] * 3 + ["mo_messages"] * 2
        + ["send_requests"] * 3 + ["quarantined_rows"] * 2 + ["recipient_days"] * 2
    )  # fmt: skip
    assert all(PHONE in text for table, _, _, text in held if table != "recipient_days")
    leftovers = [
        (table, at)
        for table, cust, at, text in rows
        if cust != "HELD" and _old(at) and (PHONE in text or table == "recipient_days")
        and table not in ("short_links", "link_clicks")  # the live link, checked below
    ]  # fmt: skip
    assert leftovers == []
    with store.reading() as s:
        live = s.scalars(select(ShortLink).where(ShortLink.customer_id == "C1")).all()
        assert len(live) == 2 and all(x.expires_at.replace(tzinfo=UTC) > NOW for x in live)
        fresh = s.scalars(select(SendRequest).where(SendRequest.caller_key == "C1-fresh")).one()
        assert fresh.variables == {"phone": PHONE}
        assert s.scalar(select(func.count()).select_from(SendRequest)) == 5
    files = sorted(p.name for p in (settings.customer_inbox / "processed").iterdir())
    assert files == ["b.csv", "c.csv"]  # the held customer's file and the fresh one
    assert not targets_path(settings, "GONE").exists() and targets_path(settings, "J").exists()
    clicks = pl.read_parquet(day_path(settings.parquet_dir, "link_clicks", ANCIENT.date()))
    (alias,) = clicks.filter(pl.col("id") == 1).get_column("message_key").to_list()
    assert clicks.rows() == [(1, None, alias), (2, "CODE2", "J:HELD:9")]  # both still count
    # The purged message's copy got the same random alias: its click still joins to it.
    sent = pl.read_parquet(day_path(settings.parquet_dir, "messages", ANCIENT.date()))
    assert sent.select("idempotency_key", "customer_id").rows() == [(alias, None)]
    assert alias.startswith("purged.") and "GONE:C1" not in alias

    archives = list(settings.archive_dir.rglob("*.parquet"))
    assert {p.parent.name for p in archives} >= {"short_links", "link_clicks", "mo_replies",
                                                  "send_requests", "quarantined_rows",
                                                  "contact_counts"}  # fmt: skip
    for path in archives:
        assert PHONE.encode() not in path.read_bytes()
        assert PHONE[1:].encode() not in path.read_bytes()
        if path.parent.name != "audit_log":
            cols = set(pl.read_parquet(path).columns)
            assert not cols & {"customer_id", "target_url", "text", "sender", "raw", "cells"}
    counts = pl.read_parquet(settings.archive_dir / "contact_counts" / f"{OLD.date()}.parquet")
    assert counts.select("messages", "customers").row(0) == (2, 1)  # C1's day, as a sum

    with time_machine.travel(NOW + timedelta(hours=26), tick=False):
        again = plan_purge(store, settings, actor="ops", dry_run=True)
    assert again.counts == {k: 0 for k in again.counts}


@pytest.mark.parametrize("name", CLASSES)
def test_every_purged_class_has_a_policy(name: str, tmp_path: Path) -> None:
    named = {p.data_class: p for p in policies(Settings(home=tmp_path))}
    assert name in named and named[name].days is not None and named[name].days > 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("retention_contact_counts_days", 7, "retention_contact_counts_days"),
        ("retention_short_links_days", 0, "retention_short_links_days"),
        ("retention_quarantine_days", -1, "retention_quarantine_days"),
    ],
)
def test_bad_durations_refused(field: str, value: int, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(home=tmp_path, **{field: value})


def test_a_held_job_keeps_its_links_requests_and_the_replies_to_it(
    store: Store, tmp_path: Path
) -> None:
    store.migrate()
    settings = Settings(home=tmp_path, database_url=store.url)
    _seed(store, settings)
    with store.session() as s:
        m = Message(idempotency_key="J:C1:reply", job_id="J", customer_id="C1", channel="sms",
                    message_type="SMS", provider="p", chain=["sms"], priority=5,
                    recipient=PHONE, body="b", state="delivered", created_at=FRESH,
                    updated_at=FRESH)  # fmt: skip
        s.add(m)
        s.flush()
        # An old reply of a customer not held, but matched to the held job's message.
        s.add(MoMessage(provider="p", channel="sms", provider_mo_id="to-held-job",
                        sender="+8210", recipient="1588", text=f"답장 {PHONE}",
                        received_at=OLD, recorded_at=OLD, message_id=m.id, customer_id="C9",
                        route="care"))  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        with store.session() as s:
            place_hold(s, actor="legal", reason="case 8", job_id="J")
        plan = plan_purge(store, settings, actor="ops")
    assert plan.counts["short_links"] == plan.counts["send_request_payloads"] == 0
    assert plan.counts["mo_replies"] == 2  # C1's and HELD's old replies name no message
    with time_machine.travel(NOW + timedelta(hours=25), tick=False):
        purge(store, settings, actor="ops")
    with store.reading() as s:
        assert s.scalar(select(func.count()).select_from(ShortLink)) == 6
        kept = s.scalars(select(MoMessage.provider_mo_id)).all()
        assert "to-held-job" in kept and len(kept) == 3
        assert all(r.variables for r in s.scalars(select(SendRequest)))
