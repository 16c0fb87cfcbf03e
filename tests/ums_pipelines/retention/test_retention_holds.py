"""Legal holds on a job; a hold's required fields; a fallback leg keeps its parent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from ums_pipelines.retention.hold import HoldError, held, place_hold, release_hold
from ums_pipelines.retention.purge import plan_purge, purge
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Job, Message, Template

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def _message(job: str, n: int, at: datetime, parent: int | None = None) -> Message:
    return Message(idempotency_key=f"{job}:{n}", job_id=job, customer_id=f"C{n}",
                   channel="sms", message_type="SMS", provider="p", chain=["sms"],
                   priority=5, recipient="x@example.com", body="본문", state="failed",
                   parent_id=parent, created_at=at, updated_at=at)  # fmt: skip


def _seed(store: Store) -> dict[str, int]:
    old, recent = NOW - timedelta(days=2000), NOW - timedelta(days=10)
    ids: dict[str, int] = {}
    with store.session() as s:
        t = Template(code="T", name="t", purpose="informational", created_at=NOW)
        s.add(t)
        s.flush()
        for job in ("HJ", "FREE"):
            s.add(Job(job_id=job, name="j", template_id=t.id, template_version=1,
                      purpose="informational", priority=5, routes={}, sender_number="1588",
                      department="d", status="done", created_at=NOW, updated_at=NOW))  # fmt: skip
        s.flush()
        for key, job, at in (("held", "HJ", old), ("parent", "FREE", old)):
            m = _message(job, len(ids), at)
            s.add(m)
            s.flush()
            ids[key] = m.id
        # A later leg of the old parent, still young: the parent must stay for it.
        child = _message("FREE", 9, recent, parent=ids["parent"])
        s.add(child)
        s.flush()
        ids["child"] = child.id
    return ids


def test_held_job_and_referenced_parent_are_kept(store: Store, tmp_path: Path) -> None:
    store.migrate()
    settings = Settings(home=tmp_path, database_url=store.url)
    ids = _seed(store)
    with time_machine.travel(NOW, tick=False):
        with store.session() as s:
            place_hold(s, actor="legal", reason="case", job_id="HJ")
        plan_purge(store, settings, actor="ops")
    with time_machine.travel(NOW + timedelta(hours=24, minutes=1), tick=False):
        result = purge(store, settings, actor="ops")
    assert result.counts["message_rows"] == 0
    assert result.counts["message_content"] == 1  # the parent's content, not the held job's
    with store.reading() as s:
        rows = {m.id: m for m in s.scalars(select(Message))}
    assert set(rows) == set(ids.values())
    assert rows[ids["held"]].body == "본문" and rows[ids["parent"]].body == ""


def test_hold_fields_are_required_and_release_once(store: Store) -> None:
    store.migrate()
    with store.session() as s:
        with pytest.raises(HoldError, match="customer_id/job_id"):
            place_hold(s, actor="legal", reason="case")
        with pytest.raises(HoldError, match="reason"):
            place_hold(s, actor="legal", reason=" ", customer_id="C1")
        hold = place_hold(s, actor="legal", reason="case", customer_id="C1")
        assert held(s).customers == {"C1"}
        release_hold(s, hold.id, actor="legal")
        assert held(s).customers == frozenset()
        with pytest.raises(HoldError, match="already released"):
            release_hold(s, hold.id, actor="legal")
