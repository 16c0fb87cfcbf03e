"""Real-time advertising goes out only under the department head's approval: the
standing job of an advertising template is approved once per content version, routes
and sender (its fingerprint), before any request is queued; informational and
authentication standing jobs need none."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import time_machine

from ums_pipelines.channels.windows import KST
from ums_pipelines.compliance.approvals import ApprovalError, approve_job
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.dispatch.intake import submit
from ums_pipelines.dispatch.standing import IntakeError, standing_job
from ums_pipelines.jobs import ChannelVariant, register_sender_number, register_template
from ums_pipelines.lanes import Purpose
from ums_pipelines.store.models import Job

AD_TEXT = "(광고) UMS은행 {{ name }}님께 드리는 혜택\n무료수신거부 080-123-4567"
INFO_TEXT = "UMS은행 {{ name }}님, 입금 안내입니다."
SENDER = "15881234"
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=KST)


def template(bank: Any, code: str, purpose: Purpose, text: str) -> None:
    with bank.store.session() as session:
        register_sender_number(session, SENDER, "고객센터", actor="test")
        register_template(
            session,
            code=code,
            name=code,
            purpose=purpose,
            variables=("name",),
            variants=[ChannelVariant("sms", text)],
            actor="test",
        )


def request(bank: Any, code: str, key: str) -> Any:
    with time_machine.travel(NOON, tick=False):  # by day: the night rule is not at issue
        return submit(
            bank.store,
            bank.settings,
            caller="crm",
            caller_key=key,
            customer_id="A1",
            template_code=code,
            sender_number=SENDER,
        )


def approve(bank: Any, job_id: str, who: str = "realtime-head") -> None:
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        grant_role(session, who, "approver", job.department, granted_by="test-admin")
        approve_job(session, job_id, who)


def test_a_real_time_ad_is_refused_until_the_head_approves_its_standing_job(bank: Any) -> None:
    bank.add_customer("A1", purpose="ad")
    template(bank, "rt-ad", Purpose.ADVERTISING, AD_TEXT)
    with pytest.raises(IntakeError, match="needs approval once per content version"):
        request(bank, "rt-ad", "k1")
    job_id = standing_job(bank.store, "rt-ad", None, SENDER)
    # The standing job's author is the intake: it never approves its own job.
    with bank.store.session() as session:
        grant_role(session, "intake", "approver", "*", granted_by="test-admin")
    with pytest.raises(ApprovalError, match="author"), bank.store.session() as session:
        approve_job(session, job_id, "intake")
    approve(bank, job_id)
    sent = request(bank, "rt-ad", "k2")
    assert sent.created and sent.job_id == job_id
    # A new content version is a new standing job: approved anew before it sends.
    template(bank, "rt-ad", Purpose.ADVERTISING, AD_TEXT + " ")
    with pytest.raises(IntakeError, match="no approval by the head"):
        request(bank, "rt-ad", "k3")
    newer = standing_job(bank.store, "rt-ad", None, SENDER)
    assert newer != job_id
    approve(bank, newer)
    assert request(bank, "rt-ad", "k4").job_id == newer


def test_informational_real_time_needs_no_approval(bank: Any) -> None:
    bank.add_customer("A1")
    template(bank, "rt-info", Purpose.INFORMATIONAL, INFO_TEXT)
    assert request(bank, "rt-info", "k1").created


def test_the_rule_is_a_setting(bank: Any) -> None:
    bank.add_customer("A1", purpose="ad")
    template(bank, "rt-ad", Purpose.ADVERTISING, AD_TEXT)
    bank.settings = bank.settings.model_copy(update={"realtime_ad_approval": False})
    assert request(bank, "rt-ad", "k1").created
