"""The review-system hook: a request out as a file (no personal data), decisions in as
files, four-eyes kept (the author refused, the approver role needed unless trusted), a
stale decision voided, a rejection needing a listed reason, bad files kept aside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ums_pipelines.compliance.approvals import check_job
from ums_pipelines.compliance.gate import ApprovalRequired, valid_approval
from ums_pipelines.compliance.review_files import inbox_dir, outbox_dir
from ums_pipelines.compliance.review_hook import (
    Decision,
    ReviewHookError,
    apply_decision,
    request_review,
)
from ums_pipelines.compliance.review_inbox import ingest_decisions
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Purpose
from ums_pipelines.store.compliance import Approval, ReviewRequest
from ums_pipelines.store.models import AuditLog, Job

PHONE = "01030000000"
AD_SMS = (ChannelVariant("sms", "(광고)UMS은행 {{ name }}님 이벤트 무료수신거부 0801234567"),)


def ad_job(bank: Any) -> str:
    """An advertising job of 2 customers, targeted, not approved; its author is "test"."""
    for i in range(2):
        bank.add_customer(f"A{i}", phone=f"0103000000{i}", purpose="ad", name="홍길동")
    return str(
        bank.targeted(
            purpose=Purpose.ADVERTISING,
            template_code="ad-notice",
            variants=AD_SMS,
            routes={"sms": ["sms"]},
            approve=False,
        )
    )


def head(bank: Any, user: str = "bank-head") -> str:
    with bank.store.session() as session:
        grant_role(session, user, "approver", "test-dept", granted_by="admin")
    return user


def ask(bank: Any, job_id: str, settings: Any = None) -> str:
    with bank.store.session() as session:
        row = request_review(session, settings or bank.settings, "job", job_id, "test")
        return row.request_ref


def drop(bank: Any, name: str, **fields: Any) -> Path:
    directory = inbox_dir(bank.settings)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(fields, ensure_ascii=False), encoding="utf-8")
    return path


def request_row(bank: Any, ref: str) -> ReviewRequest:
    with bank.store.session() as session:
        row = session.scalars(select(ReviewRequest).where(ReviewRequest.request_ref == ref)).one()
        session.expunge(row)
        return row


def approvals(bank: Any, job_id: str) -> int:
    with bank.store.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Approval).where(Approval.entity_id == job_id)
            )
            or 0
        )


def test_a_request_file_carries_the_jobs_facts_and_no_personal_data(bank: Any) -> None:
    job_id = ad_job(bank)
    ref = ask(bank, job_id)
    assert ask(bank, job_id) == ref  # pending for the same facts: not sent twice
    [path] = outbox_dir(bank.settings).glob("*.json")
    assert path.name == f"{ref}.json"
    text = path.read_text(encoding="utf-8")
    payload = json.loads(text)
    assert payload["request_ref"] == ref and payload["job_id"] == job_id
    assert (payload["department"], payload["purpose"]) == ("test-dept", "advertising")
    assert payload["target_count"] == 2 and payload["content_version"] == 1
    assert payload["content_sample"]["sms"]["body"].startswith("(광고)")
    assert "{{ name }}" in payload["content_sample"]["sms"]["body"]  # never filled in
    assert "홍길동" not in text and PHONE not in text and "A0" not in text
    row = request_row(bank, ref)
    assert (row.status, row.via, row.requested_by) == ("pending", "file", "test")
    assert row.fingerprint == payload["fingerprint"]


def test_an_approval_file_lets_the_job_pass_the_gate(bank: Any) -> None:
    job_id = ad_job(bank)
    ref = ask(bank, job_id)
    approver = head(bank)
    drop(bank, "d1.json", request_ref=ref, decision="approved", decided_by=approver,
         external_ref="EAS-77", reason="checked")  # fmt: skip
    with pytest.raises(ApprovalRequired):
        check_job(bank.store, bank.settings, job_id)
    result = ingest_decisions(bank.store, bank.settings)
    assert [o.status for o in result.applied] == ["approved"] and not result.refused
    check_job(bank.store, bank.settings, job_id)  # the gate honours it now
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        valid = valid_approval(session, job)
        assert valid is not None and (valid.decided_by, valid.role) == (approver, "approver")
        assert valid.reason == "review system EAS-77: checked"
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.entity_id == job_id).order_by(AuditLog.id)
        ).all()
        moves = [a for a in actions if a.startswith(("review.", "job.approved"))]
        assert moves == ["review.requested", "job.approved", "review.decided"]
    row = request_row(bank, ref)
    assert (row.status, row.decided_by, row.external_ref) == ("approved", approver, "EAS-77")
    inbox = inbox_dir(bank.settings)
    assert (inbox / "done" / "d1.json").exists() and not (inbox / "d1.json").exists()
    # The same decision again (a resend) changes nothing.
    drop(bank, "d1.json", request_ref=ref, decision="approved", decided_by=approver)
    again = ingest_decisions(bank.store, bank.settings)
    assert [o.message for o in again.applied] == ["already applied"]
    assert approvals(bank, job_id) == 1
    assert len(list((inbox / "done").glob("d1*.json"))) == 2  # kept, not overwritten


def test_the_author_and_a_person_without_the_role_are_refused(bank: Any) -> None:
    job_id = ad_job(bank)
    ref = ask(bank, job_id)
    drop(bank, "a.json", request_ref=ref, decision="approved", decided_by="test")
    drop(bank, "b.json", request_ref=ref, decision="approved", decided_by="stranger")
    result = ingest_decisions(bank.store, bank.settings)
    assert not result.applied
    assert "test is its author" in result.refused["a.json"]
    assert "stranger does not hold the approver role" in result.refused["b.json"]
    rejected = inbox_dir(bank.settings) / "rejected"
    assert "its author" in (rejected / "a.json.reason.txt").read_text(encoding="utf-8")
    assert (rejected / "b.json").exists()
    assert request_row(bank, ref).status == "pending"  # someone entitled may still decide
    assert approvals(bank, job_id) == 0
    with bank.store.session() as session:
        refused = session.scalars(
            select(AuditLog).where(AuditLog.action == "review.refused").order_by(AuditLog.id)
        ).all()
        assert [r.detail["decided_by"] for r in refused] == ["test", "stranger"]


def test_a_trusted_review_system_approves_without_a_ums_role_but_never_the_author(
    bank: Any,
) -> None:
    trusting = bank.settings.model_copy(update={"review_trust_external": True})
    job_id = ad_job(bank)
    ref = ask(bank, job_id, trusting)
    with bank.store.session() as session:
        own = apply_decision(session, trusting, Decision(ref, "approved", "test"), via="http")
        assert own.status == "refused" and "author" in own.message
        outcome = apply_decision(
            session, trusting, Decision(ref, "approved", "eas-approver-9"), via="http"
        )
        assert outcome.status == "approved"
    check_job(bank.store, trusting, job_id)
    with bank.store.session() as session:
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "job.approved")).one()
        assert entry.actor == "eas-approver-9" and entry.detail["trusted_external"] is True


def test_a_decision_on_a_job_changed_since_the_request_is_void(bank: Any) -> None:
    job_id = ad_job(bank)
    ref = ask(bank, job_id)
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.params = {"occasion": "chuseok"}  # a changed value: another fingerprint
    drop(bank, "late.json", request_ref=ref, decision="approved", decided_by=head(bank))
    result = ingest_decisions(bank.store, bank.settings)
    assert [o.status for o in result.applied] == ["void"]
    assert request_row(bank, ref).status == "void"
    assert approvals(bank, job_id) == 0
    with pytest.raises(ApprovalRequired):
        check_job(bank.store, bank.settings, job_id)
    with bank.store.session() as session:
        voided = session.scalars(select(AuditLog).where(AuditLog.action == "review.voided")).one()
        assert voided.detail["request_ref"] == ref
    assert ask(bank, job_id) != ref  # a new request for the job as it is now


def test_a_rejection_needs_a_listed_reason_and_bad_files_are_kept(bank: Any) -> None:
    job_id = ad_job(bank)
    ref = ask(bank, job_id)
    approver = head(bank)
    drop(bank, "1-no-code.json", request_ref=ref, decision="rejected", decided_by=approver)
    drop(bank, "2-bad-code.json", request_ref=ref, decision="rejected", decided_by=approver,
         reason_code="LATE")  # fmt: skip
    (inbox_dir(bank.settings) / "3-not-json.json").write_text("{oops", encoding="utf-8")
    drop(bank, "4-unknown.json", request_ref="rv-nope", decision="approved", decided_by=approver)
    drop(bank, "5-field.json", request_ref=ref, decision="maybe", decided_by=approver)
    drop(bank, "6-ok.json", request_ref=ref, decision="rejected", decided_by=approver,
         reason_code="TARGETS", reason="VIP segment only")  # fmt: skip
    result = ingest_decisions(bank.store, bank.settings)
    assert result.refused["1-no-code.json"].startswith("reason_code: a rejection needs one of")
    assert result.refused["2-bad-code.json"].startswith("reason_code: 'LATE' is not one of")
    assert result.refused["3-not-json.json"].startswith("file: not JSON")
    assert result.refused["4-unknown.json"] == "request_ref: no review request 'rv-nope'"
    assert result.refused["5-field.json"].startswith("decision: 'maybe' is not one of")
    assert [o.status for o in result.applied] == ["rejected"]
    rejected = inbox_dir(bank.settings) / "rejected"
    assert sorted(p.name for p in rejected.glob("*.json")) == [
        "1-no-code.json", "2-bad-code.json", "3-not-json.json", "4-unknown.json",
        "5-field.json",
    ]  # fmt: skip
    row = request_row(bank, ref)
    assert (row.status, row.reason_code, row.reason) == ("rejected", "TARGETS", "VIP segment only")
    with pytest.raises(ApprovalRequired, match="rejected by bank-head: TARGETS"):
        check_job(bank.store, bank.settings, job_id)


def test_bad_requests_name_the_field(bank: Any) -> None:
    job_id = ad_job(bank)
    with bank.store.session() as session:
        with pytest.raises(ReviewHookError, match="entity: 'content'"):
            request_review(session, bank.settings, "content", job_id, "test")
        with pytest.raises(ReviewHookError, match="actor: who asks must be named"):
            request_review(session, bank.settings, "job", job_id, " ")
        with pytest.raises(KeyError, match="job_id: no job 'nope'"):
            request_review(session, bank.settings, "job", "nope", "test")
    with pytest.raises(ReviewHookError, match="extra: not a field of a decision"):
        Decision.parse({"request_ref": "r", "decision": "approved", "decided_by": "x", "extra": 1})
    with pytest.raises(ReviewHookError, match="decided_by: missing"):
        Decision.parse({"request_ref": "r", "decision": "approved"})
