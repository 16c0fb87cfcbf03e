"""The review-decisions sensor: skips while the inbox is empty, applies decision files."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
from sqlalchemy import select

from sensors.review import review_decisions_sensor
from ums_pipelines.compliance.review_files import inbox_dir
from ums_pipelines.compliance.review_hook import request_review
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.definitions import defs
from ums_pipelines.jobs import (
    ChannelVariant,
    register_job,
    register_sender_number,
    register_template,
)
from ums_pipelines.lanes import Purpose
from ums_pipelines.resources import UmsResource
from ums_pipelines.store.compliance import ReviewRequest
from ums_pipelines.store.models import Job


def _tick(ums: UmsResource) -> Any:
    with dg.build_sensor_context(resources={"ums": ums}, definitions=defs) as context:
        return review_decisions_sensor(context)


def test_the_sensor_applies_decision_files(ums: UmsResource) -> None:
    first = _tick(ums)
    assert isinstance(first, dg.SkipReason) and first.skip_message == "no decision file waiting"
    settings = ums.settings()
    with ums.open_store() as store, store.session() as session:
        register_sender_number(session, "15881234", "고객센터", actor="t")
        register_template(
            session, code="ad", name="ad", purpose=Purpose.ADVERTISING, variables=(),
            variants=(ChannelVariant("sms", "(광고)이벤트 무료수신거부 0801234567"),), actor="t",
        )  # fmt: skip
        register_job(
            session, job_id="j1", name="j", template_code="ad", routes={"sms": ["sms"]},
            sender_number="15881234", department="d", actor="author",
        )  # fmt: skip
        job = session.get(Job, "j1")
        assert job is not None
        job.target_count, job.status = 5, "targeted"
        grant_role(session, "head", "approver", "d", granted_by="admin")
        ref = request_review(session, settings, "job", "j1", "author").request_ref
    inbox = inbox_dir(settings)
    inbox.mkdir(parents=True, exist_ok=True)
    decision = {"request_ref": ref, "decision": "approved", "decided_by": "head"}
    (inbox / "d.json").write_text(json.dumps(decision), encoding="utf-8")
    result = _tick(ums)
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == "review decisions: 1 approved; 0 refused"
    assert (inbox / "done" / "d.json").exists()
    with ums.open_store() as store, store.session() as session:
        row = session.scalars(select(ReviewRequest)).one()
        assert row.status == "approved"
