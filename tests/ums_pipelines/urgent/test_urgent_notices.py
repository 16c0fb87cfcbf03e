"""Urgent notices: draft, dry run (reach after suppression, frequency caps bypassed,
consent never), approval by a designated approver only, and the rows on the urgent lane."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from ums_pipelines.compliance.access import AccessDenied
from ums_pipelines.compliance.gate import valid_approval
from ums_pipelines.dispatch.ratelimit import ProviderLimit, SharedRateLimiter
from ums_pipelines.jobs import register_sender_number, register_template
from ums_pipelines.lanes import Lane, Purpose, lane_of
from ums_pipelines.store.models import AuditLog, Job, Message
from ums_pipelines.urgent import UrgentError, approve_notice, draft_notice, dry_run, get_notice
from ums_pipelines.urgent.enqueue import enqueue_rows
from ums_pipelines.urgent.send import send_notice

DRAFTER, APPROVER = "ops-kim", "ops-head"


@pytest.fixture
def staff(grant: Callable[..., None]) -> None:
    grant(DRAFTER, "author", "operator")
    grant(APPROVER, "approver")


def _content(bank: Any, purpose: Purpose = Purpose.INFORMATIONAL, code: str = "outage") -> str:
    from ums_pipelines.jobs import ChannelVariant

    with bank.store.session() as session:
        register_sender_number(session, "15881234", "고객센터", actor="test")
        register_template(
            session,
            code=code,
            name="장애 안내",
            purpose=purpose,
            variables=["name"],
            variants=[
                ChannelVariant("sms", "[UMS은행] {{ name }}님 전산 장애 안내"),
                ChannelVariant("push", "{{ name }}님 전산 장애 안내", "긴급 안내"),
            ],
            actor="test",
        )
    return code


def _draft(bank: Any, code: str, **kwargs: Any) -> int:
    notice = draft_notice(
        bank.store,
        bank.settings,
        title="전산 장애",
        template_code=code,
        routes={"push": ["push", "sms"], "default": ["sms"]},
        sender_number="15881234",
        actor=DRAFTER,
        **kwargs,
    )
    return notice.id


def test_dry_run_reach_after_suppression_with_caps_bypassed(bank: Any, staff: None) -> None:
    code = _content(bank)
    for i in range(6):
        bank.add_customer(f"S{i}", preferred="sms")
    bank.add_customer("P0", preferred="push", push_token="tok-0")
    bank.add_customer("D0", deceased=True)
    bank.add_customer("N0", phone=None)  # no contact
    bank.add_customer("X0", consents=["push"])  # no SMS consent, no push token
    # At the informational cap: still reached (urgent lane is exempt from caps).
    bank.settings = bank.settings.model_copy(update={"freq_cap_day": {"informational": 0}})
    notice_id = _draft(bank, code)
    report = dry_run(bank.store, bank.settings, notice_id, DRAFTER)
    assert report["reach"] == {"push": 1, "sms": 6}
    assert report["targets"] == 7
    assert report["suppressed"] == {"deceased": 1, "no_consent": 1, "no_contact": 1}
    assert report["prediction"]["seconds"] > 0
    with bank.store.session() as session:
        job = session.get(Job, report["job_id"])
        assert job is not None and job.priority == int(Lane.URGENT)
        # Out of the dispatch sensor's sight until approved.
        assert job.status == "pending_approval"


def test_advertising_notice_needs_ad_consent(bank: Any, staff: None) -> None:
    code = _content(bank, Purpose.ADVERTISING, code="promo-urgent")
    bank.add_customer("A0", purpose="ad")
    bank.add_customer("I0", purpose="info")  # info consent only: not an ad target
    report = dry_run(bank.store, bank.settings, _draft(bank, code), DRAFTER)
    assert report["targets"] == 1
    assert report["suppressed"] == {"no_consent": 1}
    assert report["night_rule"] == "applies"


def test_prediction_uses_the_provider_limits_in_force(bank: Any, staff: None) -> None:
    code = _content(bank)
    for i in range(40):
        bank.add_customer(f"S{i}", preferred="sms")
    SharedRateLimiter(bank.store).configure([ProviderLimit("sim-sms", 20.0)])
    report = dry_run(bank.store, bank.settings, _draft(bank, code), DRAFTER)
    sms = report["prediction"]["providers"][0]
    assert sms == {
        "provider": "sim-sms",
        "channels": ["sms"],
        "messages": 40,
        "rate_per_s": 20.0,
        "limited": True,
        "seconds": 2.0,
    }
    assert report["prediction"]["seconds"] == pytest.approx(2.0 + bank.settings.urgent_start_s)


def test_only_a_designated_approver_other_than_the_drafter_approves(
    bank: Any, staff: None, grant: Callable[..., None]
) -> None:
    code = _content(bank)
    bank.add_customer("S0")
    notice_id = _draft(bank, code)
    with pytest.raises(UrgentError, match="only a dry-run notice"):
        approve_notice(bank.store, notice_id, APPROVER)
    dry_run(bank.store, bank.settings, notice_id, DRAFTER)
    # A department's approver is not enough: the notice is bank-wide ('*').
    grant("dept-head", "approver", department="card")
    with pytest.raises(AccessDenied, match=r"urgent\.approve"):
        approve_notice(bank.store, notice_id, "dept-head")
    grant(DRAFTER, "approver")
    with pytest.raises(PermissionError, match="drafted it"):
        approve_notice(bank.store, notice_id, DRAFTER)
    job_id, _ = approve_notice(bank.store, notice_id, APPROVER)
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "dispatching"
        assert valid_approval(session, job) is not None
        actions = list(
            session.scalars(
                select(AuditLog.action)
                .where(AuditLog.entity == "urgent_notice", AuditLog.entity_id == str(notice_id))
                .order_by(AuditLog.id)
            )
        )
        assert actions == ["urgent.drafted", "urgent.dry_run", "urgent.approved"]
        denied = session.scalar(
            select(func.count()).where(
                AuditLog.action == "access.denied", AuditLog.actor == "dept-head"
            )
        )
        assert denied == 1


def test_drafting_is_checked_and_bad_input_named(bank: Any, staff: None) -> None:
    code = _content(bank)
    with pytest.raises(AccessDenied):
        draft_notice(
            bank.store,
            bank.settings,
            title="x",
            template_code=code,
            routes={"default": ["sms"]},
            sender_number="15881234",
            actor=APPROVER,  # no author role
        )
    with pytest.raises(UrgentError, match="title"):
        _draft_with(bank, code, title=" ")
    with pytest.raises(UrgentError, match="routes"):
        _draft_with(bank, code, routes={})
    with pytest.raises(UrgentError, match="template_code"):
        _draft_with(bank, "no-such-item")


def _draft_with(bank: Any, code: str, **overrides: Any) -> int:
    values: dict[str, Any] = {
        "title": "전산 장애",
        "template_code": code,
        "routes": {"default": ["sms"]},
        "sender_number": "15881234",
        "actor": DRAFTER,
    } | overrides
    return draft_notice(bank.store, bank.settings, **values).id


def test_enqueue_writes_urgent_rows_queued_once(bank: Any, staff: None) -> None:
    code = _content(bank)
    for i in range(25):
        bank.add_customer(f"S{i}")
    notice_id = _draft(bank, code)
    dry_run(bank.store, bank.settings, notice_id, DRAFTER)
    job_id, _ = approve_notice(bank.store, notice_id, APPROVER)
    batches: list[int] = []
    assert enqueue_rows(bank.store, bank.settings, job_id, batch=10, progress=batches.append) == 25
    assert batches == [10, 20, 25]  # each batch committed on its own
    assert enqueue_rows(bank.store, bank.settings, job_id, batch=10) == 0  # never twice
    rows = bank.messages(job_id)
    assert len(rows) == 25
    assert {(r.state, lane_of(r.priority), r.lease_owner) for r in rows} == {
        ("queued", Lane.URGENT, None)
    }


def test_send_notice_sends_everything_and_records_it(
    sim_bank: Any, staff: None, ledger_summary: Any
) -> None:
    bank = sim_bank
    code = _content(bank)
    for i in range(30):
        bank.add_customer(f"S{i}")
    notice_id = _draft(bank, code)
    dry_run(bank.store, bank.settings, notice_id, DRAFTER)
    job_id, approved_at = approve_notice(bank.store, notice_id, APPROVER)
    report = asyncio.run(
        send_notice(bank.store, bank.settings, notice_id, approved_at, actor=APPROVER)
    )
    assert report.enqueued == 30
    assert report.start_s is not None and report.seconds is not None
    assert sum(v for k, v in report.states.items() if k not in ("queued", "claimed")) >= 30
    assert ledger_summary(job_id)["sms"]["accepted"] == 30
    with bank.store.session() as session:
        notice = get_notice(session, notice_id)
        assert notice.status == "sent" and notice.finished_at is not None
        assert (
            session.scalar(
                select(func.count()).where(
                    Message.job_id == job_id, Message.submitted_at.is_not(None)
                )
            )
            >= 30
        )
