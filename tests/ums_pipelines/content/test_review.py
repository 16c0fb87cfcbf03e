"""The content review workflow on both backends: draft → in_review → reviewed → approved
by distinct people, findings that keep a draft, rejection reasons, and the roles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ums_pipelines.audit import verify_chain
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.compliance.words import add_word
from ums_pipelines.content.bank import ContentError, add_content, approve_version, show_content
from ums_pipelines.content.document import ContentDocument
from ums_pipelines.content.review import review_trail, review_version, submit_for_review
from ums_pipelines.content.review_policy import rejection_reasons
from ums_pipelines.jobs import register_sender_number
from ums_pipelines.settings import Settings
from ums_pipelines.settings import Settings as ReviewSettings
from ums_pipelines.store import Store
from ums_pipelines.store.compliance import Approval
from ums_pipelines.store.models import AuditLog

DEPT = "card-operations"
CLEAN_SMS = "[UMS은행] {{ name }}님, 결제일은 {{ today }}입니다."
AD_SMS = "(광고) [UMS은행] {{ name }}님께 드리는 적금 혜택\n무료수신거부 080-123-4567"


def doc(*variants: dict[str, Any], **overrides: Any) -> ContentDocument:
    data: dict[str, Any] = {
        "code": "card-due",
        "name": "카드 결제 예정 안내",
        "purpose": "informational",
        "department": DEPT,
        "variables": [
            {"name": "name", "kind": "customer", "default": "고객"},
            {"name": "today", "kind": "job"},
        ],
        "variants": list(variants) or [{"channel": "sms", "body": CLEAN_SMS}],
    }
    data.update(overrides)
    return ContentDocument.model_validate(data)


@pytest.fixture
def staff(store: Store) -> None:
    """kim writes, lee reviews, park approves (the department head), admin grants."""
    with store.session() as session:
        grant_role(session, "kim", "author", DEPT, granted_by="admin")
        grant_role(session, "lee", "reviewer", DEPT, granted_by="admin")
        grant_role(session, "park", "approver", DEPT, granted_by="admin")
        register_sender_number(session, "15881234", "고객센터", actor="admin")


def draft(store: Store, d: ContentDocument, actor: str = "kim") -> int:
    with store.session() as session:
        return add_content(session, d, actor, approve=False).version


def submit(store: Store, settings: Settings, version: int = 1, actor: str = "kim") -> Any:
    with store.session() as session:
        return submit_for_review(session, "card-due", version, actor, settings)


def status(store: Store, version: int = 1) -> str:
    with store.session() as session:
        return next(v.status for v in show_content(session, "card-due").versions
                    if v.version == version)  # fmt: skip


def actions(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_a_clean_item_goes_through_review_to_approval_by_distinct_people(
    store: Store, settings: Settings, staff: None
) -> None:
    assert draft(store, doc()) == 1
    result = submit(store, settings)
    assert (result.status, result.blocking) == ("in_review", ())
    assert status(store) == "in_review"
    with store.session() as session:
        decided = review_version(session, "card-due", 1, "lee", "pass")
    assert (decided.status, decided.reason) == ("reviewed", None)
    with store.session() as session:
        approve_version(session, "card-due", 1, "park")
    with store.session() as session:
        info = show_content(session, "card-due").versions[0]
        assert (info.status, info.approved_by) == ("approved", "park")
        decisions = session.execute(
            select(Approval.role, Approval.decided_by, Approval.decision)
            .where(Approval.entity == "content")
            .order_by(Approval.id)
        ).all()
        assert [tuple(d) for d in decisions] == [
            ("reviewer", "lee", "passed"),
            ("approver", "park", "approved"),
        ]
        verify_chain(session)
    assert actions(store)[-4:] == [
        "content.version_added",
        "content.submitted",
        "content.review_passed",
        "content.approved",
    ]


def test_pii_in_a_template_blocks_submission_naming_the_field(
    store: Store, settings: Settings, staff: None
) -> None:
    rrn = "900101-1234568"
    body = f"[UMS은행] {{{{ name }}}}님 주민등록번호 {rrn} 확인 바랍니다."
    email = {"channel": "email", "subject": "문의: help.kim@example.com", "body": "안내",
             "html_body": "<p>안내</p>"}  # fmt: skip
    draft(store, doc({"channel": "sms", "body": body}, email))
    result = submit(store, settings)
    assert result.status == "draft" and status(store) == "draft"
    pii = {(f.code, f.field) for f in result.blocking if f.kind == "pii"}
    assert pii == {("KR_RRN", "variants[sms].body"), ("EMAIL", "variants[email].subject")}
    messages = " ".join(f.message for f in result.findings)
    assert rrn not in messages and "help.kim@example.com" not in messages
    assert "{{ name }}" not in messages  # a tag is not a finding
    with store.session() as session:
        entry = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert entry is not None and entry.action == "content.review_blocked"
        assert entry.detail["codes"] == ["EMAIL", "KR_RRN"]
        assert rrn not in json.dumps(entry.detail, ensure_ascii=False)


def test_a_registered_caller_number_is_not_personal_data(
    store: Store, settings: Settings, staff: None
) -> None:
    with store.session() as session:
        register_sender_number(session, "0212345678", "본점", actor="admin")
    draft(store, doc({"channel": "sms", "body": "[UMS은행] {{ name }}님 문의 02-1234-5678"}))
    assert submit(store, settings).status == "in_review"


def test_sample_values_follow_the_schema_and_defaults_are_scanned(
    store: Store, settings: Settings, staff: None
) -> None:
    variables = [
        {"name": "name", "kind": "customer"},
        {"name": "amount", "kind": "job", "type": "int"},
        {"name": "due", "kind": "job", "type": "date"},
        {"name": "contact", "kind": "job", "required": False, "default": "010-2345-6789"},
    ]
    body = "[UMS은행] {{ name }}님 {{ amount | won }}원, {{ due }}까지"
    draft(store, doc({"channel": "sms", "body": body}, variables=variables))
    [found] = submit(store, settings).blocking  # the values typed, only the default is PII
    assert (found.code, found.field) == ("PHONE", "variables[contact].default")
    assert "2345-6789" not in found.message


def test_a_forbidden_word_blocks(store: Store, settings: Settings, staff: None) -> None:
    with store.session() as session:
        add_word(session, "원금 보장", reason="허위·과장 광고", actor="admin", mode="normalised")
    draft(store, doc({"channel": "sms", "body": "[UMS은행] {{ name }}님 원금보장 상품"}))
    result = submit(store, settings)
    assert result.status == "draft"
    [found] = result.blocking  # once, at the source, not again in the rendered sample
    assert (found.kind, found.code, found.field) == ("forbidden", "FORBIDDEN_WORD",
                                                     "variants[sms].body")  # fmt: skip
    assert "허위·과장 광고" in found.message


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("[UMS은행] {{ name }}님 적금 혜택\n무료수신거부 080-123-4567", "AD_LABEL_MISSING"),
        ("(광고) [UMS은행] {{ name }}님 적금 혜택", "AD_OPTOUT_MISSING"),
    ],
)
def test_an_advertisement_without_label_or_opt_out_blocks(
    store: Store, settings: Settings, staff: None, body: str, code: str
) -> None:
    draft(store, doc({"channel": "sms", "body": body}, purpose="advertising"))
    result = submit(store, settings)
    assert result.status == "draft"
    assert [(f.kind, f.code, f.field) for f in result.blocking] == [
        ("advertising", code, "variants[sms]")
    ]


def test_a_lawful_advertisement_is_submitted(store: Store, settings: Settings, staff: None) -> None:
    draft(store, doc({"channel": "sms", "body": AD_SMS}, purpose="advertising"))
    assert submit(store, settings).status == "in_review"


def test_a_variant_too_long_once_rendered_blocks(
    store: Store, settings: Settings, staff: None
) -> None:
    variables = [{"name": "product", "kind": "job", "default": "가" * 1000}]
    draft(store, doc({"channel": "sms", "body": "[UMS은행] {{ product }}"}, variables=variables))
    [found] = submit(store, settings).blocking
    # Compose refuses it while rendering: the finding is the row compose would fail.
    assert (found.kind, found.field) == ("render", "variants[sms]")
    assert "2010 bytes, an LMS carries 2000 at most" in found.message


def test_the_author_can_neither_review_nor_approve(
    store: Store, settings: Settings, staff: None
) -> None:
    with store.session() as session:
        grant_role(session, "kim", "reviewer", DEPT, granted_by="admin")
        grant_role(session, "kim", "approver", DEPT, granted_by="admin")
    draft(store, doc())
    submit(store, settings)
    with store.session() as session, pytest.raises(ContentError, match="'kim' wrote version 1"):
        review_version(session, "card-due", 1, "kim", "pass")
    with store.session() as session:
        review_version(session, "card-due", 1, "lee", "pass")
    with store.session() as session, pytest.raises(ContentError, match="'kim' wrote version 1"):
        approve_version(session, "card-due", 1, "kim")
    with store.session() as session, pytest.raises(ContentError, match="approver role"):
        approve_version(session, "card-due", 1, "choi")  # no role at all
    assert status(store) == "reviewed"


def test_a_reviewer_needs_the_role_in_the_department(
    store: Store, settings: Settings, staff: None
) -> None:
    with store.session() as session:
        grant_role(session, "jung", "reviewer", "other-dept", granted_by="admin")
        grant_role(session, "han", "reviewer", "*", granted_by="admin")
    draft(store, doc())
    submit(store, settings)
    with store.session() as session, pytest.raises(ContentError, match="neither the reviewer"):
        review_version(session, "card-due", 1, "jung", "pass")
    with store.session() as session:
        assert review_version(session, "card-due", 1, "han", "pass").status == "reviewed"


def test_a_rejection_carries_its_reason_and_an_edit_is_a_new_draft(
    store: Store, settings: Settings, staff: None
) -> None:
    draft(store, doc())
    submit(store, settings)
    with store.session() as session:
        with pytest.raises(ContentError, match="reason_code: a rejection needs one of AD_LABEL"):
            review_version(session, "card-due", 1, "lee", "reject")
        with pytest.raises(ContentError, match="'SPAM' is not one of"):
            review_version(session, "card-due", 1, "lee", "reject", "SPAM")
        with pytest.raises(ContentError, match="OTHER needs a note"):
            review_version(session, "card-due", 1, "lee", "reject", "OTHER")
    with store.session() as session:
        decided = review_version(session, "card-due", 1, "lee", "reject", "TONE", "너무 딱딱함")
    assert decided.status == "rejected" and decided.reason is not None
    assert decided.reason.code == "TONE" and "어조" in decided.reason.ko
    with store.session() as session:
        [entry] = [e for e in review_trail(session, "card-due") if e.action == "content.rejected"]
        assert entry.actor == "lee" and entry.detail["reason_code"] == "TONE"
        assert (
            entry.detail["reason"].startswith("TONE: 어조")
            and "(너무 딱딱함)" in entry.detail["reason"]
        )
        with pytest.raises(ContentError, match="is rejected, not a draft; add the edited"):
            submit_for_review(session, "card-due", 1, "kim", settings)
    edited = doc({"channel": "sms", "body": "[UMS은행] {{ name }}님, 결제일을 알려 드립니다."})
    assert draft(store, edited) == 2
    assert (status(store, 1), status(store, 2)) == ("rejected", "draft")
    assert submit(store, settings, version=2).status == "in_review"


def test_approval_of_a_version_not_reviewed_is_refused_when_review_is_required(
    store: Store, settings: Settings, staff: None
) -> None:
    draft(store, doc())
    with store.session() as session, pytest.raises(ContentError, match="is draft, not reviewed"):
        approve_version(session, "card-due", 1, "park")
    submit(store, settings)
    with store.session() as session, pytest.raises(ContentError, match="is in_review, not rev"):
        approve_version(session, "card-due", 1, "park")
    # Where review is not required, a draft is approved as before by someone else.
    relaxed = ReviewSettings(content_review_required=False)
    with store.session() as session, pytest.raises(ContentError, match="is in_review, not a dr"):
        approve_version(session, "card-due", 1, "park", review=relaxed)


def test_the_author_approving_on_adding_is_refused_only_where_review_is_required(
    store: Store,
) -> None:
    with (
        store.session() as session,
        pytest.raises(ContentError, match="approved only after review"),
    ):
        add_content(session, doc(), "kim")
    exempt = ReviewSettings(content_review_exempt_departments=[DEPT])
    with store.session() as session:
        assert add_content(session, doc(), "kim", review=exempt).status == "approved"


def test_only_the_newest_draft_is_submitted_and_reviewed(
    store: Store, settings: Settings, staff: None
) -> None:
    draft(store, doc())
    submit(store, settings)
    draft(store, doc({"channel": "sms", "body": "[UMS은행] {{ name }}님 새 문구"}))
    with store.session() as session, pytest.raises(ContentError, match="superseded by version 2"):
        review_version(session, "card-due", 1, "lee", "pass")
    with store.session() as session, pytest.raises(ContentError, match="no version 9"):
        submit_for_review(session, "card-due", 9, "kim", settings)


def test_rejection_reasons_extend_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "reasons.json"
    path.write_text(json.dumps({"RATE": {"ko": "금리 표기 오류", "en": "rate shown wrongly"}}))
    reasons = rejection_reasons(ReviewSettings(content_rejection_reasons_file=path))
    assert reasons["RATE"].text == "금리 표기 오류 / rate shown wrongly"
    assert {"AD_LABEL", "OPT_OUT", "PII", "FORBIDDEN", "TONE", "FACTS", "LEGAL", "OTHER"} <= set(
        reasons
    )
    path.write_text(json.dumps({"rate": {"ko": "x", "en": "y"}}))
    with pytest.raises(ValueError, match="'rate' is not an upper-case code"):
        rejection_reasons(ReviewSettings(content_rejection_reasons_file=path))
