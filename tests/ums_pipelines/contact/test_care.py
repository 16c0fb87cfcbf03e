"""The customer-care queue: unhandled care replies, oldest first; handling is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ums_pipelines.contact.care import care_queue, mark_handled
from ums_pipelines.store.contact import MoMessage
from ums_pipelines.store.models import AuditLog

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def add(session: Any, n: int, route: str, minutes: int, handled: bool = False) -> None:
    session.add(
        MoMessage(
            provider="relay",
            channel="sms",
            provider_mo_id=f"MO{n}",
            sender="+821012345678",
            recipient="15881234",
            text=f"문의 {n}",
            received_at=T0 + timedelta(minutes=minutes),
            recorded_at=T0,
            customer_id="C1",
            route=route,
            handled_at=T0 if handled else None,
        )
    )


def test_queue_and_handling(store: Any) -> None:
    with store.session() as session:
        add(session, 1, "care", 5)
        add(session, 2, "care", 1)
        add(session, 3, "opt_out", 0, handled=True)
        add(session, 4, "unmatched", 0)
        add(session, 5, "care", 0, handled=True)
    with store.session() as session:
        queue = care_queue(session)
        assert [m.provider_mo_id for m in queue] == ["MO2", "MO1"]
        assert [m.provider_mo_id for m in care_queue(session, limit=1)] == ["MO2"]
        first = queue[0].id
        mark_handled(session, first, "agent-kim")
    with store.session() as session:
        assert [m.provider_mo_id for m in care_queue(session)] == ["MO1"]
        [entry] = session.scalars(select(AuditLog).where(AuditLog.action == "mo.handled")).all()
        assert (entry.actor, entry.entity_id, entry.detail) == (
            "agent-kim",
            str(first),
            {"customer": "C1"},
        )
        with pytest.raises(ValueError, match="already handled"):
            mark_handled(session, first, "agent-kim")
        opt_out = session.scalars(select(MoMessage.id).where(MoMessage.route == "opt_out")).one()
        with pytest.raises(KeyError, match="mo_id"):
            mark_handled(session, opt_out, "agent-kim")
        with pytest.raises(KeyError, match="mo_id"):
            mark_handled(session, 999_999, "agent-kim")
        with pytest.raises(ValueError, match="actor"):
            mark_handled(session, queue[1].id, " ")
        with pytest.raises(ValueError, match="limit"):
            care_queue(session, 0)
