"""`ums history`: masked by default, unmasked only with history.unmask and audited."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.cli.history import mask_recipient
from ums_pipelines.store.models import AuditLog, Customer, Job, Message, Template

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
PHONE = "01011112222"


def run(bank: Any, *args: str) -> Any:
    env = {"UMS_HOME": str(bank.settings.home), "UMS_DATABASE_URL": bank.settings.store_url}
    return CliRunner().invoke(app, ["history", *args], env=env)


@pytest.fixture
def seeded(bank: Any, grant: Callable[..., None]) -> Any:
    grant("care", "operator")
    grant("inspector", "operator", "auditor")
    with bank.store.session() as s:
        s.add(
            Customer(
                customer_id="A1",
                name="김민수",
                phone=PHONE,
                source_changed_at=T0,
                updated_at=T0,
            )
        )
        s.add(Template(id=1, code="t", name="t", purpose="informational", created_at=T0))
        s.flush()
        s.add(
            Job(
                job_id="camp",
                name="카드 안내",
                template_id=1,
                template_version=1,
                purpose="informational",
                priority=3,
                routes={},
                sender_number="15880000",
                department="card",
                status="done",
                created_at=T0,
                updated_at=T0,
            )
        )
        s.flush()
        for n, day in enumerate((0, 3)):
            at = T0 + timedelta(days=day)
            s.add(
                Message(
                    idempotency_key=f"k{n}",
                    job_id="camp",
                    customer_id="A1",
                    channel="sms",
                    message_type="SMS",
                    provider="relay",
                    leg=0,
                    chain=["sms"],
                    priority=3,
                    recipient=PHONE,
                    body=f"김민수 님, {PHONE} 카드 안내",
                    state="delivered",
                    created_at=at,
                    updated_at=at,
                    completed_at=at,
                )
            )
    return bank


def audit(bank: Any, action: str) -> list[AuditLog]:
    with bank.store.session() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_masked_by_default(seeded: Any) -> None:
    result = run(seeded, "--customer", "A1", "--actor", "care")
    assert result.exit_code == 0, result.output
    assert "김민수" not in result.output and PHONE not in result.output
    assert "김*수" in result.output and "010-****-2222" in result.output
    assert "2 contact(s)" in result.output
    rows = json.loads(run(seeded, "--customer", "A1", "--actor", "care", "--json").output)
    assert [r["recipient"] for r in rows] == ["010-****-2222"] * 2
    assert rows[0]["preview"].startswith("김*수 님, 010-****-2222")
    assert rows[0]["at"] == "2026-11-23T10:00:00+09:00"  # newest first, Korea time
    assert audit(seeded, "history.unmasked") == []


def test_unmask_needs_the_role_and_is_audited(seeded: Any) -> None:
    refused = run(seeded, "--customer", "A1", "--actor", "care", "--show-personal-data")
    assert refused.exit_code == 1 and "history.unmask" in refused.output
    assert PHONE not in refused.output
    assert [e.entity_id for e in audit(seeded, "access.denied")] == ["history.unmask"]
    shown = run(seeded, "--customer", "A1", "--actor", "inspector", "--show-personal-data")
    assert shown.exit_code == 0, shown.output
    assert PHONE in shown.output and "김민수" in shown.output
    (entry,) = audit(seeded, "history.unmasked")
    assert (entry.actor, entry.entity, entry.entity_id) == ("inspector", "customer", "A1")
    assert entry.detail["contacts"] == 2


def test_view_needs_the_operator_role(seeded: Any, grant: Callable[..., None]) -> None:
    grant("writer", "author")
    result = run(seeded, "--customer", "A1", "--actor", "writer")
    assert result.exit_code == 1 and "refused" in result.output


def test_phone_lookup_and_day_bounds(seeded: Any) -> None:
    rows = json.loads(
        run(seeded, "--phone", "+82 10-1111-2222", "--actor", "care", "--json").output
    )
    assert [r["customer_id"] for r in rows] == ["A1", "A1"]
    # --until is the whole KST day: 2026-11-20 10:00 KST is in, 11-23 is not.
    bounded = run(
        seeded,
        "--customer",
        "A1",
        "--actor",
        "care",
        "--json",
        "--since",
        "2026-11-20",
        "--until",
        "2026-11-20",
    )
    assert [r["at"] for r in json.loads(bounded.output)] == ["2026-11-20T10:00:00+09:00"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--customer", "A1", "--phone", PHONE], "exactly one"),
        ([], "exactly one"),
        (["--phone", "12"], "phone:"),
        (["--customer", "A1", "--since", "20261120"], "since:"),
    ],
)
def test_bad_input_exits_2(seeded: Any, args: list[str], said: str) -> None:
    result = run(seeded, *args, "--actor", "care")
    assert result.exit_code == 2 and said in result.output


def test_mask_recipient() -> None:
    assert mask_recipient("kim@example.com") == "k***@example.com"
    assert mask_recipient("+821011112222") == "010-****-2222"
    assert mask_recipient("fcm-token-abcdef") == "fcm-***"
