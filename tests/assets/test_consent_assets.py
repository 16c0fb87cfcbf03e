"""optout_confirmations and consent_reconfirm_notices: thin assets over the engine, run
by the daily consent_notices_schedule; skipped (with the reason) while no template is set."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import func, select

from assets.consent import consent_reconfirm_notices, optout_confirmations
from sensors.consent import consent_notices_schedule
from ums_pipelines.customers.optouts import OptOutScope, record_opt_out
from ums_pipelines.jobs import ChannelVariant, register_sender_number, register_template
from ums_pipelines.lanes import Purpose
from ums_pipelines.resources import UmsResource
from ums_pipelines.store import Store
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Consent, Customer, Message

TEMPLATE = "consent-notice"


def _seed(store: Store) -> None:
    now = utcnow()
    with store.session() as session:
        for cid, ad_age in (("A1", 10), ("A2", 800)):
            session.add(
                Customer(
                    customer_id=cid,
                    name="김민수",
                    phone="01012345678",
                    preferred_channel="sms",
                    source_changed_at=now,
                    updated_at=now,
                )
            )
            session.flush()
            for purpose, age in (("info", 1), ("ad", ad_age)):
                session.add(
                    Consent(
                        customer_id=cid,
                        channel="sms",
                        purpose=purpose,
                        granted=True,
                        consented_at=now - timedelta(days=age),
                        source="test",
                    )
                )
        record_opt_out(
            session,
            "A1",
            OptOutScope(purpose="advertising", channel="sms"),
            source="mo",
            reference="1",
            reason="test",
            at=now,
            now=now,
        )
        register_sender_number(session, "15881234", "고객센터", actor="test")
        register_template(
            session,
            code=TEMPLATE,
            name="동의 안내",
            purpose=Purpose.INFORMATIONAL,
            variables=("name",),
            variants=(ChannelVariant("sms", "[UMS은행] {{ name }}님 수신 동의 안내"),),
            actor="test",
        )


def _messages(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    [event] = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in event.metadata.items()}


def test_skipped_with_the_reason_while_no_template_is_set(
    ums: UmsResource, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UMS_OPTOUT_CONFIRM_TEMPLATE", raising=False)
    monkeypatch.delenv("UMS_CONSENT_RECONFIRM_TEMPLATE", raising=False)
    _seed(store)
    result = dg.materialize(
        [optout_confirmations, consent_reconfirm_notices], resources={"ums": ums}
    )
    assert result.success
    optout = _metadata(result, "optout_confirmations")
    assert optout["skipped"] == "UMS_OPTOUT_CONFIRM_TEMPLATE is not set"
    assert optout["still_due"] == 1
    reconfirm = _metadata(result, "consent_reconfirm_notices")
    assert "skipped" in reconfirm and reconfirm["due"] == 1 and reconfirm["pending"] == 1
    assert _messages(store) == 0


def test_sends_what_is_due_once(
    ums: UmsResource, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UMS_OPTOUT_CONFIRM_TEMPLATE", TEMPLATE)
    monkeypatch.setenv("UMS_CONSENT_RECONFIRM_TEMPLATE", TEMPLATE)
    _seed(store)
    first = dg.materialize(
        [optout_confirmations, consent_reconfirm_notices], resources={"ums": ums}
    )
    assert first.success
    assert _metadata(first, "optout_confirmations")["submitted"] == 1
    assert _metadata(first, "optout_confirmations")["still_due"] == 0
    reconfirm = _metadata(first, "consent_reconfirm_notices")
    assert (reconfirm["submitted"], reconfirm["pending"]) == (1, 0)
    assert _messages(store) == 2

    again = dg.materialize(
        [optout_confirmations, consent_reconfirm_notices], resources={"ums": ums}
    )
    assert _metadata(again, "consent_reconfirm_notices")["sent_earlier"] == 1
    assert _messages(store) == 2


def test_the_schedule_runs_the_job_daily_in_korea_time() -> None:
    assert consent_notices_schedule.execution_timezone == "Asia/Seoul"
    assert consent_notices_schedule.cron_schedule == "0 10 * * *"
    assert consent_notices_schedule.job_name == "consent_notices_job"
