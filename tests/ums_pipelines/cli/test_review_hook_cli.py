"""`ums review-hook request|ingest|status`: a job sent for review as a file and its
decision brought back in from the inbox; refusals exit 1, bad input 2."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.compliance.review_files import inbox_dir, outbox_dir
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Purpose

AD_SMS = (ChannelVariant("sms", "(광고)UMS은행 이벤트 무료수신거부 0801234567"),)


def run(bank: Any, *args: str, code: int = 0) -> str:
    env = {"UMS_HOME": str(bank.settings.home), "UMS_DATABASE_URL": bank.settings.store_url,
           "COLUMNS": "250", "UMS_ACTOR": "test"}  # fmt: skip
    result = CliRunner().invoke(app, ["review-hook", *args], env=env)
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())


def test_request_ingest_and_status(bank: Any, grant: Any) -> None:
    grant("test", "author", "operator")  # RBAC: review.request, review.ingest for '*'
    bank.add_customer("A0", phone="01030000000", purpose="ad")
    job_id = bank.targeted(
        purpose=Purpose.ADVERTISING, template_code="ad-cli", variants=AD_SMS,
        routes={"sms": ["sms"]}, approve=False,
    )  # fmt: skip
    assert "no job 'nope'" in run(bank, "request", "nope", code=2)
    out = run(bank, "request", job_id)  # --actor from UMS_ACTOR
    assert f"requested review of job {job_id}: rv-" in out and "by file" in out
    [path] = outbox_dir(bank.settings).glob("rv-*.json")
    ref = path.stem
    with bank.store.session() as session:
        grant_role(session, "bank-head", "approver", "test-dept", granted_by="admin")
    inbox = inbox_dir(bank.settings)
    inbox.mkdir(parents=True, exist_ok=True)
    own = {"request_ref": ref, "decision": "approved", "decided_by": "test"}
    (inbox / "1.json").write_text(json.dumps(own), encoding="utf-8")
    out = run(bank, "ingest", code=1)
    assert "refused 1.json" in out and "test is its author" in out
    head = {"request_ref": ref, "decision": "approved", "decided_by": "bank-head"}
    (inbox / "2.json").write_text(json.dumps(head), encoding="utf-8")
    out = run(bank, "ingest")
    assert f"{ref}: approved (approved by bank-head)" in out
    assert "1 approved; 0 refused" in out
    status = run(bank, "status", job_id)
    assert ref in status and "approved" in status and "bank-head" in status
    assert "has no review request" in run(bank, "status", "other")
