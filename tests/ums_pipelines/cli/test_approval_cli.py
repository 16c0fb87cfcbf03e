"""`ums approval ...` and the refusal of `ums dispatch` for a job awaiting approval."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.cli.approval import approval_app
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Purpose

# Advertising jobs are sent here: the night rules are moved hours away from now.
pytestmark = pytest.mark.usefixtures("ads_allowed_now")

AD_SMS = (ChannelVariant("sms", "(광고)UMS은행 {{ name }}님 이벤트 무료수신거부 0801234567"),)


class Cli:
    def __init__(self, bank: Any) -> None:
        s = bank.settings
        self.env = {
            "UMS_HOME": str(s.home),
            "UMS_DATABASE_URL": s.store_url,
            "UMS_GATEWAY_URL": s.gateway_url,
            "UMS_SMTP_PORT": str(s.smtp_port),
            "COLUMNS": "200",  # a table row on one line
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(approval_app, list(args), env=self.env)
        assert result.exit_code == code, result.output
        return " ".join(result.output.split())  # one line per message whatever the width

    def ums(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(app, list(args), env=self.env)
        assert result.exit_code == code, result.output
        return " ".join(result.output.split())


@pytest.fixture
def ad(sim_bank: Any) -> str:
    for i in range(3):
        sim_bank.add_customer(f"A{i}", phone=f"010{30000000 + i:08d}", purpose="ad")
    job_id: str = sim_bank.targeted(
        # Unique: the process's tests share one simulator, which would take the other
        # backend's run's keys (ad-1.*) as duplicates and send no receipts for them.
        f"ad-{uuid.uuid4().hex[:8]}",
        purpose=Purpose.ADVERTISING,
        template_code="ad-notice",
        variants=AD_SMS,
        routes={"sms": ["sms"]},
        approve=False,
    )
    return job_id


def test_roles_then_approval_then_dispatch(sim_bank: Any, ad: str, grant: Any) -> None:
    grant("admin", "admin")
    grant("test", "approver", department="test-dept")  # the author, a head too
    cli = Cli(sim_bank)
    assert "awaiting approval: no approval by the department head" in cli("status", ad)
    refused = cli.ums("dispatch", ad, "--deadline", "30", code=1)
    assert f"job {ad} is awaiting_approval (every advertising job needs approval)" in refused
    assert sim_bank.messages(ad) == []

    assert "granted park: approver in test-dept" in cli(
        "grant", "park", "approver", "--department", "test-dept", "--actor", "admin"
    )
    out = cli("grant", "admin", "admin", "--department", "*", "--actor", "admin", code=1)
    assert "refused granted_by: admin cannot grant a role to themselves" in out
    assert "│ approver │ test-dept │ admin │" in cli("roles", "park")
    assert "nobody holds no role" in cli("roles", "nobody")

    out = cli("approve", ad, "--actor", "test", code=1)  # its author
    assert f"refused job {ad}: test is its author and cannot decide on it" in out
    out = cli("approve", ad, "--actor", "lee", code=1)
    assert "refused access denied: lee may not job.approve: it needs approver in" in out
    assert "department test-dept" in out
    out = cli("approve", ad, "--actor", "park", "--reason", "checked the footer")
    assert f"approved job {ad} by park: content v1, 3 targets, fingerprint" in out
    status = cli("status", ad)
    assert "approved by park" in status and "may send" in status
    assert "checked the footer" in status

    done = cli.ums("dispatch", ad, "--deadline", "60")
    assert f"Job {ad}: done" in done
    assert len(sim_bank.messages(ad)) == 3


def test_reject_reasons_revoke_and_bad_input(sim_bank: Any, ad: str, grant: Any) -> None:
    grant("admin", "admin")
    cli = Cli(sim_bank)
    cli("grant", "park", "approver", "--department", "*", "--actor", "admin")
    reasons = cli("reasons")
    assert "AD_RULES" in reasons and "OTHER" in reasons
    out = cli("reject", ad, "--actor", "park", "--reason", "LATE", code=2)
    assert "reason: 'LATE' is not one of AD_LABEL" in out
    out = cli("reject", ad, "--actor", "park", "--reason", "TARGETS", "--note", "VIP only")
    assert f"rejected job {ad} by park: TARGETS: target list wrong" in out
    assert "awaiting approval: rejected by park: TARGETS" in cli("status", ad)
    assert "job_id: no job 'nope'" in cli("status", "nope", code=2)
    assert "job_id: no job 'nope'" in cli("approve", "nope", "--actor", "park", code=2)
    out = cli("grant", "kim", "boss", "--department", "x", "--actor", "admin", code=2)
    assert "role: 'boss' is not one of" in out
    assert "revoked park: approver in *" in cli(
        "revoke", "park", "approver", "--department", "*", "--actor", "admin"
    )
    cli("revoke", "park", "approver", "--department", "*", "--actor", "admin", code=1)
    cli("approve", ad, "--actor", "park", code=1)  # no longer an approver
