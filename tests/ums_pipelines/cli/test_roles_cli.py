"""`ums roles grant|revoke|list|bootstrap`, and a refused command exiting 1 with its reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import AuditLog


class Cli:
    def __init__(self, settings: Settings) -> None:
        self.env = {
            "UMS_HOME": str(settings.home),
            "UMS_DATABASE_URL": settings.store_url,
            "COLUMNS": "200",
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0, actor: str | None = None) -> str:
        env = self.env if actor is None else self.env | {"UMS_ACTOR": actor}
        result = self.runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, result.output
        return " ".join(result.output.split())


@pytest.fixture
def cli(settings: Settings, store: Store) -> Cli:
    return Cli(settings)


def test_bootstrap_then_an_admin_grants_and_revokes(cli: Cli, store: Store) -> None:
    assert "bootstrapped root: admin in *" in cli("roles", "bootstrap", "root")
    out = cli("roles", "bootstrap", "mallory", code=1)
    assert "an active admin exists (root)" in out
    out = cli("roles", "grant", "kim", "operator", "--department", "card", actor="root")
    assert "granted kim: operator in card" in out
    # the older name still works, and checks the same role
    assert "granted lee: auditor in *" in cli(
        "approval", "grant", "lee", "auditor", "--department", "*", "--actor", "root"
    )
    assert "│ operator │ card │ root │" in cli("roles", "list", "kim", "--actor", "lee")
    assert "revoked kim: operator in card" in cli(
        "roles", "revoke", "kim", "operator", "--department", "card", "--actor", "root"
    )
    assert "kim holds no role" in cli("approval", "roles", "kim", "--actor", "root")


def test_a_refused_command_exits_1_names_the_reason_and_is_audited(cli: Cli, store: Store) -> None:
    cli("roles", "bootstrap", "root")
    out = cli("roles", "grant", "kim", "admin", "--department", "*", "--actor", "lee", code=1)
    assert "refused access denied: lee may not roles.grant: it needs admin in department *" in out
    cli("roles", "grant", "kim", "operator", "--department", "card", "--actor", "root")
    # an operator of one department: not another's, not a global command
    out = cli("job", "cancel", "nope", "--actor", "kim", code=1)
    assert "kim may not job.cancel: it needs operator in department *" in out
    out = cli("audit", "verify", actor="kim", code=1)
    assert "kim may not audit.verify: it needs auditor" in out
    # the admin holds no other role (separation of duties)
    assert "root may not mo.care" in cli("mo", "care", "--actor", "root", code=1)
    with store.session() as session:
        denied = session.scalars(
            select(AuditLog.actor).where(AuditLog.action == "access.denied").order_by(AuditLog.id)
        ).all()
    assert denied == ["lee", "kim", "kim", "root"]


def test_a_store_command_without_an_actor_is_bad_input(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UMS_ACTOR")  # set by the CLI tests' acting user
    out = cli("audit", "show", code=2)
    assert "--actor" in out
