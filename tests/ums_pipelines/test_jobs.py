"""Registering sender numbers, templates (versioned) and jobs (idempotent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ums_pipelines.audit import verify_chain
from ums_pipelines.jobs import (
    ChannelVariant,
    JobError,
    SendPlan,
    register_job,
    register_sender_number,
    register_template,
    template_variants,
)
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.store import Store, as_utc
from ums_pipelines.store.models import AuditLog, Job, SenderNumber, TemplateVersion

SMS = ChannelVariant("sms", "{{ name }}님 안내")
ALIM = ChannelVariant("alimtalk", "{{ name }}님 알림", provider_template_code="T1")


def add_template(store: Store, variants: list[ChannelVariant], **kw: Any) -> int:
    with store.session() as session:
        _, version = register_template(
            session,
            code=kw.get("code", "tpl"),
            name="안내",
            purpose=kw.get("purpose", Purpose.INFORMATIONAL),
            variables=kw.get("variables", ["name"]),
            variants=variants,
            actor="tester",
        )
    return version


def add_job(store: Store, job_id: str = "job-1", **kw: Any) -> tuple[Job, bool]:
    with store.session() as session:
        register_sender_number(session, "1588-1234", "고객센터", actor="tester")
        return register_job(
            session,
            job_id=job_id,
            name=kw.get("name", "안내"),
            template_code=kw.get("template_code", "tpl"),
            routes=kw.get("routes", {"default": ["alimtalk", "sms"]}),
            sender_number=kw.get("sender_number", "15881234"),
            department="dept",
            actor="tester",
            lane=kw.get("lane", Lane.INFORMATIONAL),
            plan=kw.get("plan"),
        )


def count(store: Store, model: type[Any]) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# -- sender numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"), [("1588-1234", "15881234"), ("02-123-4567", "021234567")]
)
def test_sender_number_is_stored_as_digits_once(store: Store, raw: str, stored: str) -> None:
    with store.session() as session:
        first = register_sender_number(session, raw, "센터", actor="a")
        again = register_sender_number(session, stored, "다른 이름", actor="a")
        assert first.number == again.number == stored
        assert again.label == "센터"  # the first registration stands
    assert count(store, SenderNumber) == 1
    assert count(store, AuditLog) == 1


def test_sender_number_must_have_8_to_11_digits(store: Store) -> None:
    for raw in ["1234567", "010123456789", "", "abc"]:
        with store.session() as session, pytest.raises(JobError, match="sender_number"):
            register_sender_number(session, raw, "x", actor="a")
    assert count(store, SenderNumber) == 0


# -- templates --------------------------------------------------------------------------


def test_template_versions(store: Store) -> None:
    assert add_template(store, [SMS, ALIM]) == 1
    # Identical content: no new version, no audit entry.
    assert add_template(store, [ALIM, SMS]) == 1
    audits = count(store, AuditLog)
    assert add_template(store, [ChannelVariant("sms", "{{ name }}님 새 안내"), ALIM]) == 2
    assert count(store, AuditLog) == audits + 1
    # A changed provider template code is a changed template too.
    assert add_template(store, [ChannelVariant("sms", "{{ name }}님 새 안내"), ALIM]) == 2
    changed = ChannelVariant("alimtalk", ALIM.body, provider_template_code="T2")
    assert add_template(store, [ChannelVariant("sms", "{{ name }}님 새 안내"), changed]) == 3
    with store.session() as session:
        versions = session.scalars(select(TemplateVersion.version).distinct()).all()
        assert sorted(versions) == [1, 2, 3]
        tpl_id = session.scalar(select(TemplateVersion.template_id).limit(1))
        assert tpl_id is not None
        assert template_variants(session, tpl_id, 1)["sms"].body == SMS.body
        assert template_variants(session, tpl_id, 2)["sms"].body == "{{ name }}님 새 안내"
        assert template_variants(session, tpl_id, 3)["alimtalk"].provider_template_code == "T2"
        # Old versions are kept untouched for jobs registered against them.
        assert template_variants(session, tpl_id, 1)["alimtalk"].provider_template_code == "T1"
        verify_chain(session)


def test_removing_a_channel_is_a_new_version(store: Store) -> None:
    add_template(store, [SMS, ALIM])
    assert add_template(store, [SMS]) == 2
    with store.session() as session:
        tpl_id = session.scalar(select(TemplateVersion.template_id).limit(1))
        assert tpl_id is not None
        assert set(template_variants(session, tpl_id, 2)) == {"sms"}


INVALID_TEMPLATES: list[tuple[list[ChannelVariant], list[str], str]] = [
    ([ChannelVariant("fax", "x")], ["name"], r"variants\[fax\]\.channel"),
    ([ChannelVariant("sms", "{{ branch }}")], ["name"], r"variants\[sms\]\.body.*branch"),
    ([ChannelVariant("sms", "x", "{{ rrn }}")], ["rrn"], r"variables\[0\]: .rrn. is not a known"),
    (
        [ChannelVariant("email", "x", "s", "{{ name ")],
        ["name"],
        r"variants\[email\]\.html_body.*syntax",
    ),
]


def test_invalid_template_is_refused_and_nothing_is_stored(store: Store) -> None:
    for variants, variables, match in INVALID_TEMPLATES:
        with pytest.raises(ValueError, match=match):
            add_template(store, variants, variables=variables)
    assert count(store, TemplateVersion) == 0
    assert count(store, AuditLog) == 0


# -- jobs -------------------------------------------------------------------------------


def test_register_job_is_idempotent(store: Store) -> None:
    add_template(store, [SMS, ALIM])
    job, created = add_job(store, lane=Lane.AUTH)
    assert created
    assert (job.status, job.priority, job.template_version) == ("registered", int(Lane.AUTH), 1)
    assert job.sender_number == "15881234"
    assert job.routes == {"default": ["alimtalk", "sms"]}
    audits = count(store, AuditLog)

    again, created = add_job(store, name="다른 이름", lane=Lane.MARKETING)
    assert not created
    assert (again.name, again.priority) == ("안내", int(Lane.AUTH))
    assert count(store, Job) == 1
    assert count(store, AuditLog) == audits


def test_job_pins_the_template_version_at_registration(store: Store) -> None:
    add_template(store, [SMS, ALIM])
    add_job(store, "job-v1")
    add_template(store, [ChannelVariant("sms", "{{ name }} v2"), ALIM])
    add_job(store, "job-v2")
    with store.session() as session:
        v1, v2 = session.get(Job, "job-v1"), session.get(Job, "job-v2")
        assert v1 is not None and v2 is not None
        assert (v1.template_version, v2.template_version) == (1, 2)


def test_job_purpose_comes_from_the_template(store: Store) -> None:
    add_template(store, [SMS, ALIM], purpose=Purpose.ADVERTISING)
    job, _ = add_job(store)
    assert job.purpose == "advertising"


INVALID_JOBS: list[tuple[dict[str, Any], str]] = [
    ({"job_id": "has space"}, "job_id"),
    ({"job_id": "-leading-dash"}, "job_id"),
    ({"job_id": "x" * 65}, "job_id"),
    ({"template_code": "nope"}, "template_code"),
    ({"routes": {"default": []}}, r"routes\[default\]: empty"),
    ({"routes": {"push": ["push", "sms"]}}, r"routes\[push\]: template has no push"),
    ({"sender_number": "0212345678"}, "not a registered"),
]


def test_invalid_job_is_refused(store: Store) -> None:
    add_template(store, [SMS, ALIM])
    for case, match in INVALID_JOBS:
        overrides = dict(case)
        job_id = overrides.pop("job_id", "job-1")
        with pytest.raises(JobError, match=match):
            add_job(store, job_id, **overrides)
    assert count(store, Job) == 0


def test_inactive_sender_number_is_refused(store: Store) -> None:
    add_template(store, [SMS, ALIM])
    with store.session() as session:
        register_sender_number(session, "15881234", "센터", actor="a").active = False
    with pytest.raises(JobError, match="active"):
        add_job(store)


T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("plan", "match"),
    [
        (SendPlan(not_before=datetime(2026, 11, 25, 9, 0)), r"^plan\.not_before: .*time zone"),
        (SendPlan(not_before=T0, must_end_by=T0), r"^plan\.must_end_by: .*ends before"),
        (SendPlan(chunk_size=0), r"^plan\.chunk_size: "),
        (SendPlan(pace_per_s=0), r"^plan\.pace_per_s: "),
        (SendPlan(leg_timeout_s=-1), r"^plan\.leg_timeout_s: "),
    ],
)
def test_bad_send_plan_is_refused_naming_the_field(plan: SendPlan, match: str) -> None:
    with pytest.raises(JobError, match=match):
        plan.check()


def test_send_plan_is_stored_on_the_job(store: Store) -> None:
    add_template(store, [SMS, ALIM])
    plan = SendPlan(
        not_before=T0,
        must_end_by=T0 + timedelta(hours=2),
        chunk_size=250,
        pace_per_s=40.0,
        content_valid_until=T0 + timedelta(hours=1),
        leg_timeout_s=600,
    )
    job, created = add_job(store, plan=plan)
    assert created
    with store.session() as session:
        stored = session.get(Job, job.job_id)
        assert stored is not None
        assert (stored.chunk_size, stored.pace_per_s, stored.leg_timeout_s) == (250, 40.0, 600)
        assert stored.expires_at is not None and stored.content_valid_until is not None
        assert as_utc(stored.expires_at) == T0 + timedelta(hours=2)
