"""The content bank on both backends: versions, immutability, drafts, search, retirement,
export round trips, and what jobs may use."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ums_pipelines.audit import verify_chain
from ums_pipelines.content.bank import (
    ContentError,
    add_content,
    approve_version,
    export_content,
    list_content,
    retire_content,
    show_content,
)
from ums_pipelines.content.document import ContentDocument, dump_document, load_document
from ums_pipelines.jobs import (
    ChannelVariant,
    JobError,
    SendPlan,
    register_job,
    register_sender_number,
    register_template,
)
from ums_pipelines.lanes import Purpose
from ums_pipelines.settings import Settings as ReviewSettings
from ums_pipelines.store import Store, as_utc
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import AuditLog, Job, Template, TemplateVersion

# The bank's own rules (versions, drafts, the author never approving): with review off,
# as a department exempt from it. The review workflow is test_review.py's.
NO_REVIEW = ReviewSettings(content_review_required=False)


def doc(**overrides: Any) -> ContentDocument:
    data: dict[str, Any] = {
        "code": "card-due",
        "name": "카드 결제 예정 안내",
        "purpose": "informational",
        "content_type": "notice",
        "department": "card-operations",
        "tags": ["card", "monthly"],
        "variables": [
            {"name": "name", "kind": "customer", "default": "고객"},
            {"name": "today", "kind": "job"},
        ],
        "variants": [
            {"channel": "sms", "body": "[UMS은행] {{ name }}님, 결제일은 {{ today }}입니다."},
            {
                "channel": "alimtalk",
                "body": "{{ name }}님, 결제일은 {{ today }}입니다.",
                "provider_template_code": "UMS_CARD_01",
            },
        ],
    }
    data.update(overrides)
    return ContentDocument.model_validate(data)


def sms(body: str) -> list[dict[str, Any]]:
    return [{"channel": "sms", "body": body}]


def add(store: Store, d: ContentDocument, actor: str = "author", approve: bool = True) -> Any:
    with store.session() as session:
        return add_content(session, d, actor, approve=approve, review=NO_REVIEW)


def job(store: Store, job_id: str, code: str = "card-due", **kw: Any) -> Job:
    with store.session() as session:
        register_sender_number(session, "15881234", "고객센터", actor="t")
        created, _ = register_job(
            session,
            job_id=job_id,
            name="안내",
            template_code=code,
            routes=kw.pop("routes", {"default": ["sms"]}),
            sender_number="15881234",
            department="card-operations",
            actor="t",
            **kw,
        )
        return created


def rows(store: Store, model: type[Any]) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def actions(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_versions_are_added_only_for_changed_content(store: Store) -> None:
    first = add(store, doc())
    assert (first.version, first.created, first.status) == (1, True, "approved")
    again = add(store, doc())
    assert (again.version, again.created) == (1, False)
    assert actions(store) == ["content.created", "content.version_added"]
    changed = add(store, doc(variants=sms("{{ name }}님 새 안내")))
    assert (changed.version, changed.created) == (2, True)
    with store.session() as session:
        # The approved version 1 is untouched: a change never edits an approved version.
        v1 = show_content(session, "card-due", 1)
        assert [v.channel for v in v1.document.variants] == ["sms", "alimtalk"]
        assert v1.document.variants[0].body.startswith("[UMS은행]")
        versions = show_content(session, "card-due").versions
        assert [(v.version, v.status, v.approved_by) for v in versions] == [
            (1, "approved", "author"),
            (2, "approved", "author"),
        ]
        assert all(v.approved_at is not None for v in versions)
        verify_chain(session)


def test_an_attribute_change_updates_the_item_and_adds_no_version(store: Store) -> None:
    add(store, doc())
    result = add(store, doc(department="card-sales", tags=["card"], name="결제 안내"))
    assert (result.version, result.created) == (1, False)
    with store.session() as session:
        template = session.scalars(select(Template)).one()
        assert (template.department, template.tags, template.name) == (
            "card-sales",
            ["card"],
            "결제 안내",
        )
        entry = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert entry is not None and entry.action == "content.attributes_changed"
        assert entry.detail == {"fields": ["department", "name", "tags"]}


def test_a_draft_is_replaced_in_place_and_never_sent_until_approved(store: Store) -> None:
    add(store, doc())
    draft = add(store, doc(variants=sms("{{ name }}님 초안 1")), approve=False)
    assert (draft.version, draft.created, draft.status) == (2, True, "draft")
    replaced = add(store, doc(variants=sms("{{ name }}님 초안 2")), actor="writer", approve=False)
    assert (replaced.version, replaced.status) == (2, "draft")
    assert rows(store, TemplateVersion) == 3  # v1: sms + alimtalk, v2: sms only
    assert job(store, "before").template_version == 1  # the newest approved, not the draft
    with store.session() as session:
        assert show_content(session, "card-due").document.variants[0].body == "{{ name }}님 초안 2"
        with pytest.raises(ContentError, match="'writer' wrote version 2"):
            approve_version(session, "card-due", 2, "writer", review=NO_REVIEW)
    with store.session() as session:
        approve_version(session, "card-due", 2, "reviewer", review=NO_REVIEW)
    with store.session() as session:
        info = show_content(session, "card-due").versions[-1]
        assert (info.status, info.approved_by) == ("approved", "reviewer")
        with pytest.raises(ContentError, match="version 2 is approved, not a draft"):
            approve_version(session, "card-due", 2, "other", review=NO_REVIEW)
        with pytest.raises(ContentError, match="has no version 7"):
            approve_version(session, "card-due", 7, "other", review=NO_REVIEW)
    assert job(store, "after").template_version == 2
    assert "content.draft_replaced" in actions(store)


def test_adding_a_drafts_content_approved_approves_it(store: Store) -> None:
    add(store, doc(), approve=False)
    with store.session() as session, pytest.raises(JobError, match="has no approved version"):
        register_sender_number(session, "15881234", "센터", actor="t")
        register_job(
            session,
            job_id="j",
            name="n",
            template_code="card-due",
            routes={"d": ["sms"]},
            sender_number="15881234",
            department="d",
            actor="t",
        )
    result = add(store, doc(), actor="approver")
    assert (result.version, result.created, result.status) == (1, False, "approved")
    # Approved content added again as a draft stays approved: no draft copy of it.
    assert add(store, doc(), approve=False).status == "approved"
    assert rows(store, TemplateVersion) == 2


def test_invalid_content_stores_nothing(store: Store) -> None:
    bad = doc(variants=sms("{{ name }}님 {{ balance }}"))
    with pytest.raises(ValueError, match=r"variants\[sms\]\.body: variables not declared: balance"):
        add(store, bad)
    assert rows(store, Template) == rows(store, TemplateVersion) == rows(store, AuditLog) == 0


SEARCHABLE = [
    doc(),
    doc(
        code="otp-login",
        name="로그인 OTP",
        purpose="auth",
        department="digital",
        tags=["otp"],
        variables=[{"name": "name", "kind": "customer"}],
        variants=[{"channel": "push", "body": "인증번호 안내 100% 안전", "subject": "OTP"}],
    ),
    doc(
        code="year-end-event",
        name="연말 이벤트",
        purpose="advertising",
        department="digital",
        tags=["event"],
        variables=[],
        variants=[
            {"channel": "sms", "body": "(광고) 연말 Savings 이벤트\n무료수신거부 080-123-4567"},
            {
                "channel": "email",
                "subject": "(광고) 이벤트",
                "body": "본문",
                "html_body": "<p>x</p>",
            },
        ],
    ),
]


@pytest.mark.parametrize(
    ("filters", "codes"),
    [
        ({}, ["card-due", "otp-login", "year-end-event"]),
        ({"search": "OTP-LOG"}, ["otp-login"]),  # code, case-insensitively
        ({"search": "이벤트"}, ["year-end-event"]),  # name
        ({"search": "savings"}, ["year-end-event"]),  # a body, case-insensitively
        ({"search": "100%"}, ["otp-login"]),  # % is a character, not a wildcard
        ({"search": "1_0"}, []),  # so is _
        ({"search": "' OR 1=1 --"}, []),
        ({"tag": "otp"}, ["otp-login"]),
        ({"department": "digital"}, ["otp-login", "year-end-event"]),
        ({"purpose": "advertising"}, ["year-end-event"]),
        ({"purpose": "authentication"}, ["otp-login"]),
        ({"channel": "email"}, ["year-end-event"]),
        ({"channel": "alimtalk", "department": "digital"}, []),
    ],
)
def test_list_filters(store: Store, filters: dict[str, str], codes: list[str]) -> None:
    for d in SEARCHABLE:
        add(store, d)
    with store.session() as session:
        assert [s.code for s in list_content(session, **filters)] == codes  # type: ignore[arg-type]


def test_search_reads_the_newest_version_and_summaries_say_what_is_approved(store: Store) -> None:
    add(store, doc())
    add(store, doc(variants=sms("{{ name }}님 새 문구")), approve=False)
    with store.session() as session:
        assert list_content(session, search="결제일은") == []  # only in version 1
        [summary] = list_content(session, search="새 문구")
        assert (summary.version, summary.status, summary.approved_version) == (2, "draft", 1)
        assert summary.channels == ("sms",)
        with pytest.raises(ContentError, match="purpose: 'spam'"):
            list_content(session, purpose="spam")
        with pytest.raises(ContentError, match="channel: 'fax'"):
            list_content(session, channel="fax")


def test_retiring_blocks_new_jobs_and_new_content(store: Store) -> None:
    add(store, doc())
    running = job(store, "running")
    with store.session() as session:
        with pytest.raises(ContentError, match="reason"):
            retire_content(session, "card-due", "ops", "  ")
        retire_content(session, "card-due", "ops", "상품 종료")
    with pytest.raises(JobError, match="template_code: 'card-due' is retired"):
        job(store, "new")
    assert job(store, "running").job_id == running.job_id  # a registered job stays
    with pytest.raises(ContentError, match="is retired"):
        add(store, doc(variants=sms("새 문구")))
    with store.session() as session:
        assert list_content(session) == []
        [summary] = list_content(session, include_retired=True)
        assert summary.retired
        assert {v.status for v in show_content(session, "card-due").versions} == {"retired"}
        with pytest.raises(ContentError, match="retired already"):
            retire_content(session, "card-due", "ops", "again")
        entry = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert entry is not None and entry.detail == {"reason": "상품 종료"}


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_export_round_trips_with_no_new_version(store: Store, tmp_path: Path, suffix: str) -> None:
    attributes: dict[str, Any] = {
        "valid_from": "2026-01-01T00:00:00+09:00",
        "valid_until": "2099-12-31T23:59:59+09:00",
        "approval_ids": {"kakao": "UMS_CARD_01"},
        "service_code": "CRD-1",
    }
    original = doc(**attributes)
    add(store, original)
    add(store, doc(**attributes, variants=sms("{{ name }}님 v2")))
    with store.session() as session:
        exported = export_content(session, "card-due")
        v1 = export_content(session, "card-due", version=1)
    assert v1.variants == original.variants and v1.valid_until == original.valid_until
    path = dump_document(exported, tmp_path / f"card{suffix}")
    audits = rows(store, AuditLog)
    result = add(store, load_document(path))
    assert (result.version, result.created) == (2, False)
    assert rows(store, AuditLog) == audits  # not even an attribute changed


def test_an_item_registered_before_the_bank_exports_and_adds_back_unchanged(store: Store) -> None:
    with store.session() as session:
        register_template(
            session,
            code="legacy",
            name="안내",
            purpose=Purpose.INFORMATIONAL,
            variables=["name", "branch"],
            actor="t",
            variants=[
                ChannelVariant("sms", "{{ name }}님 {{ branch }}"),
                ChannelVariant("push", "x", "제목"),
            ],
        )
    with store.session() as session:
        exported = export_content(session, "legacy")
    assert [v.name for v in exported.variables] == ["name", "branch"]
    result = add(store, exported)
    assert (result.version, result.created) == (1, False)


def test_show_names_a_missing_item_or_version(store: Store) -> None:
    add(store, doc())
    with store.session() as session:
        with pytest.raises(ContentError, match="no content item 'nope'"):
            show_content(session, "nope")
        with pytest.raises(ContentError, match=r"has no version 3 \(has 1\)"):
            show_content(session, "card-due", 3)


def valid_until(j: Job) -> Any:
    return as_utc(j.content_valid_until) if j.content_valid_until else None


def test_validity_bounds_new_jobs(store: Store) -> None:
    now = utcnow()
    item_end = now + timedelta(days=2)
    add(store, doc(valid_until=item_end.isoformat()))
    # The job stops at the earlier of its plan's and its item's end of validity.
    later = SendPlan(content_valid_until=now + timedelta(days=5))
    assert valid_until(job(store, "plan-later", plan=later)) == item_end
    sooner = SendPlan(content_valid_until=now + timedelta(hours=1))
    assert valid_until(job(store, "plan-sooner", plan=sooner)) == now + timedelta(hours=1)
    assert valid_until(job(store, "no-plan")) == item_end

    add(store, doc(valid_until=(now - timedelta(minutes=1)).isoformat()))
    with pytest.raises(JobError, match="template_code: 'card-due' was valid until"):
        job(store, "expired")

    starts = now + timedelta(days=10)
    add(
        store,
        doc(valid_from=starts.isoformat(), valid_until=(starts + timedelta(days=5)).isoformat()),
    )
    early = SendPlan(not_before=now, must_end_by=starts)
    with pytest.raises(JobError, match=r"plan\.must_end_by: the window ends before 'card-due'"):
        job(store, "too-early", plan=early)
    ok = SendPlan(not_before=now, must_end_by=starts + timedelta(days=1))
    assert job(store, "in-window", plan=ok).template_version == 1


def test_register_template_over_a_draft_adds_an_approved_version(store: Store) -> None:
    add(store, doc(variants=sms("{{ name }}님")))
    add(store, doc(variants=sms("{{ name }}님 초안")), approve=False)
    with store.session() as session:
        _, version = register_template(
            session,
            code="card-due",
            name="안내",
            purpose=Purpose.INFORMATIONAL,
            variables=doc().variables,
            actor="t",
            variants=[ChannelVariant("sms", "{{ name }}님 초안")],
        )
        assert version == 3  # the same text as draft 2, but approved
        _, again = register_template(
            session,
            code="card-due",
            name="안내",
            purpose=Purpose.INFORMATIONAL,
            variables=doc().variables,
            actor="t",
            variants=[ChannelVariant("sms", "{{ name }}님")],
        )
        assert again == 4  # back to version 1's text: a new version all the same
    assert job(store, "j").template_version == 4
