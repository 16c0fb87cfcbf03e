"""``ums stats``, ``ums board token issue|list|revoke``: output, tokens, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from ums_pipelines.board.auth import token_hash
from ums_pipelines.cli import app
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Message
from ums_pipelines.store.monitoring import BoardToken


def run(settings: Settings, *args: str, code: int = 0, actor: str | None = None) -> str:
    env = {"UMS_HOME": str(settings.home), "UMS_DATABASE_URL": settings.store_url, "COLUMNS": "200"}
    if actor:
        env["UMS_ACTOR"] = actor
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


def test_stats_json_and_tables(settings: Settings, store: Store, bank: Any) -> None:
    job_id = bank.register()
    now = datetime.now(UTC)
    with store.session() as session:
        for i, state in enumerate(["queued", "queued", "delivered"]):
            session.add(
                Message(
                    idempotency_key=f"{job_id}.{i}", job_id=job_id, customer_id="C", leg=0,
                    channel="push", message_type="PUSH", provider="fcm", chain=["push"],
                    priority=10, recipient="t", body="b", state=state, send_round=0, attempts=1,
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip
    data = json.loads(run(settings, "stats", "--json"))
    assert data["stage_totals"]["queued"] == 2 and data["stage_totals"]["delivered"] == 1
    assert data["by_lane"]["auth"]["queued"] == 2
    text = run(settings, "stats")
    assert "messages per stage" in text and "push" in text and "backlog" in text


def test_stats_refused_without_a_role(settings: Settings, store: Store) -> None:
    out = run(settings, "stats", "--actor", "stranger", code=1)
    assert "stranger may not stats.view" in out


def test_token_issue_list_revoke(settings: Settings, store: Store, grant: Any) -> None:
    grant("ops-admin", "admin")
    grant("screen-user", "operator")
    # the CLI user (every role but admin) may not manage tokens
    assert "may not board.token" in run(settings, "board", "token", "issue", "screen-user", code=1)
    out = run(settings, "board", "token", "issue", "screen-user", "--label", "7F wall",
              actor="ops-admin")  # fmt: skip
    token = out.strip().splitlines()[-1]
    with store.session() as session:
        row = session.scalars(select(BoardToken)).one()
    assert row.token_sha256 == token_hash(token) and row.label == "7F wall"
    listed = run(settings, "board", "token", "list", actor="ops-admin")
    assert "screen-user" in listed and "7F wall" in listed and token not in listed
    assert "revoked" in run(settings, "board", "token", "revoke", str(row.id), actor="ops-admin")
    again = run(settings, "board", "token", "revoke", str(row.id), actor="ops-admin", code=2)
    assert "revoked already" in again
    nobody = run(settings, "board", "token", "issue", "nobody", actor="ops-admin", code=2)
    assert "nobody holds no role" in nobody
