"""The opt-out list: scopes, withdrawal, the last-mile check, and the audit of each entry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from ums_pipelines.audit import verify_chain
from ums_pipelines.customers.optouts import (
    ALL,
    OptOutScope,
    active_opt_outs,
    covers,
    is_opted_out,
    opted_out_among,
    record_opt_out,
)
from ums_pipelines.store.contact import OptOut
from ums_pipelines.store.models import AuditLog

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def opt_out(session: Any, customer_id: str, channel: str | None, purpose: str | None) -> Any:
    return record_opt_out(
        session,
        customer_id,
        OptOutScope(channel, purpose),
        source="test",
        reference="ref-1",
        reason="test opt-out",
        at=NOW,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("opted", "channel", "expected"),
    [
        ({ALL}, "sms", True),
        ({"sms"}, "sms", True),
        ({"sms"}, "push", False),
        (set(), "sms", False),
    ],
)
def test_covers(opted: set[str], channel: str, expected: bool) -> None:
    assert covers(opted, channel) is expected


@pytest.mark.parametrize(
    ("scope", "channel", "purpose", "expected"),
    [
        ((None, None), "sms", "advertising", True),  # everything
        ((None, None), "email", "informational", True),
        ((None, "advertising"), "sms", "advertising", True),
        ((None, "advertising"), "sms", "informational", False),
        (("sms", None), "sms", "informational", True),
        (("sms", None), "alimtalk", "informational", False),
        (("sms", "advertising"), "sms", "advertising", True),
        (("sms", "advertising"), "push", "advertising", False),
    ],
)
def test_scopes(
    store: Any,
    scope: tuple[str | None, str | None],
    channel: str,
    purpose: str,
    expected: bool,
) -> None:
    with store.session() as session:
        opt_out(session, "C1", *scope)
    with store.session() as session:
        assert is_opted_out(session, "C1", channel, purpose) is expected
        assert is_opted_out(session, "C2", channel, purpose) is False
        found = active_opt_outs(session, purpose, [channel])
    assert ("C1" in found) is expected
    if expected:
        assert found["C1"] == {scope[0] or ALL}


def test_active_opt_outs_gathers_channels_per_customer(store: Any) -> None:
    with store.session() as session:
        opt_out(session, "C1", "sms", "advertising")
        opt_out(session, "C1", "push", None)
        opt_out(session, "C2", None, "advertising")
        opt_out(session, "C3", "email", "advertising")
        opt_out(session, "C4", None, "informational")
    with store.session() as session:
        found = active_opt_outs(session, "advertising", ["sms", "push", "alimtalk"])
    assert found == {"C1": {"sms", "push"}, "C2": {ALL}}


def test_a_withdrawn_opt_out_no_longer_counts(store: Any) -> None:
    with store.session() as session:
        row = opt_out(session, "C1", None, None)
        row.withdrawn_at = NOW
    with store.session() as session:
        assert not is_opted_out(session, "C1", "sms", "advertising")
        assert active_opt_outs(session, "advertising", ["sms"]) == {}
        # Withdrawn, so the same scope can be recorded again.
        assert opt_out(session, "C1", None, None) is not None


def test_recording_is_audited_and_not_repeated(store: Any) -> None:
    with store.session() as session:
        first = opt_out(session, "C1", None, "advertising")
        again = opt_out(session, "C1", None, "advertising")
        other = opt_out(session, "C1", "sms", "advertising")
    assert first is not None and again is None and other is not None
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(OptOut)) == 2
        entries = session.scalars(
            select(AuditLog).where(AuditLog.action == "optout.recorded").order_by(AuditLog.id)
        ).all()
        assert [(e.entity, e.entity_id) for e in entries] == [("customer", "C1")] * 2
        assert entries[0].detail["purpose"] == "advertising"
        assert entries[0].detail["channel"] == "all"
        assert entries[0].detail["source"] == "test"
        assert verify_chain(session) == 2


def test_opted_out_among_a_batch(store: Any) -> None:
    with store.session() as session:
        opt_out(session, "C1", None, "advertising")
        opt_out(session, "C2", "sms", None)
        opt_out(session, "C3", "push", "advertising")
        withdrawn = opt_out(session, "C4", None, None)
        withdrawn.withdrawn_at = NOW
    batch = [f"C{i}" for i in range(2500)]  # more than one query's worth of ids
    with store.session() as session:
        assert opted_out_among(session, batch, "sms", "advertising") == {"C1", "C2"}
        assert opted_out_among(session, batch, "push", "advertising") == {"C1", "C3"}
        assert opted_out_among(session, batch, "sms", "informational") == {"C2"}
        assert opted_out_among(session, [], "sms", "advertising") == set()
