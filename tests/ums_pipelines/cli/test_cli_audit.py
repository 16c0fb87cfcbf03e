"""`ums audit verify|show` from the command line: exit codes, the first bad row, no
personal data in the output."""

from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from ums_pipelines.audit import record
from ums_pipelines.cli.audit import audit_app
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store

PHONE = "010-2345-6789"


def env(settings: Settings) -> dict[str, str]:
    return {
        "UMS_HOME": str(settings.home),
        "UMS_DATABASE_URL": settings.store_url,
        "COLUMNS": "200",
    }


# The acting user's role grants (tests/conftest.py cli_actor) come first in the log.
GRANTS = 5  # author, reviewer, approver, operator, auditor for '*'


def fill(store: Store) -> list[int]:
    ids = []
    for i in range(5):
        with store.session() as session:
            row = record(
                session,
                f"operator{i}",
                "customer.updated" if i % 2 else "job.approved",
                "customer" if i % 2 else "job",
                f"C{i:03d}" if i % 2 else f"job-{i}",
                name="김민수",
                phone=PHONE,
                note=f"called {PHONE} about it",
            )
            ids.append(row.id)
    return ids


def test_verify_passes_on_a_clean_log(store: Store, settings: Settings) -> None:
    ids = fill(store)
    runner = CliRunner()
    result = runner.invoke(audit_app, ["verify", "--json"], env=env(settings))
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["ok"] is True and body["verified"] == GRANTS + 5
    assert body["head"].startswith(f"{ids[-1]}:")
    plain = runner.invoke(audit_app, ["verify"], env=env(settings))
    assert plain.exit_code == 0 and f"{GRANTS + 5} rows verified" in plain.output
    anchored = runner.invoke(audit_app, ["verify", "--anchor", body["head"]], env=env(settings))
    assert anchored.exit_code == 0, anchored.output


def test_verify_names_the_first_bad_row_without_personal_data(
    store: Store, settings: Settings
) -> None:
    ids = fill(store)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'intruder' WHERE id = :id"), {"id": ids[3]})
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[4]})
    runner = CliRunner()
    result = runner.invoke(audit_app, ["verify", "--json"], env=env(settings))
    assert result.exit_code == 1
    bad = json.loads(result.output)["first_bad_row"]
    assert bad["id"] == ids[3] and bad["kind"] == "edited"
    assert (bad["action"], bad["entity"]) == ("customer.updated", "customer")
    plain = runner.invoke(audit_app, ["verify"], env=env(settings))
    assert plain.exit_code == 1
    assert f"broken at row {ids[3]} (customer.updated on customer)" in plain.output
    assert f"rows verified before it: {GRANTS + 3}" in plain.output
    for secret in ("김민수", "2345", "intruder", "operator"):
        assert secret not in plain.output + result.output


def test_verify_reports_a_deleted_newest_row(store: Store, settings: Settings) -> None:
    ids = fill(store)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[-1]})
    result = CliRunner().invoke(audit_app, ["verify"], env=env(settings))
    assert result.exit_code == 1
    assert f"row {ids[-1]}" in result.output and "newest rows were deleted" in result.output


def test_verify_refuses_a_malformed_anchor(store: Store, settings: Settings) -> None:
    result = CliRunner().invoke(audit_app, ["verify", "--anchor", "12:abc"], env=env(settings))
    assert result.exit_code == 2
    assert "--anchor" in result.output and "ID:HASH" in result.output


def test_show_masks_details_and_filters(store: Store, settings: Settings) -> None:
    fill(store)
    runner = CliRunner()
    result = runner.invoke(audit_app, ["show"], env=env(settings))
    assert result.exit_code == 0, result.output
    assert "10 entries" in result.output  # and the 5 role grants of the acting user
    assert "010-****-6789" in result.output and "김*수" in result.output
    assert "김민수" not in result.output and "2345" not in result.output
    only = runner.invoke(
        audit_app, ["show", "--entity", "customer", "--limit", "1"], env=env(settings)
    )
    assert only.exit_code == 0 and "1 entries" in only.output
    assert "C003" in only.output and "C001" not in only.output and "job-" not in only.output
    actor = runner.invoke(audit_app, ["show", "--by", "operator2"], env=env(settings))
    assert "1 entries" in actor.output and "job-2" in actor.output
    by_id = runner.invoke(audit_app, ["show", "--entity-id", "job-4"], env=env(settings))
    assert "1 entries" in by_id.output
    future = runner.invoke(audit_app, ["show", "--since", "2999-01-01"], env=env(settings))
    assert future.exit_code == 0 and "0 entries" in future.output
    past = runner.invoke(audit_app, ["show", "--since", "2000-01-01T09:00"], env=env(settings))
    assert "10 entries" in past.output


def test_reading_the_log_needs_the_auditor_role(store: Store, settings: Settings) -> None:
    runner = CliRunner()
    refused = runner.invoke(audit_app, ["show", "--actor", "kim"], env=env(settings))
    assert refused.exit_code == 1
    assert "kim may not audit.show: it needs auditor in department *" in refused.output
    denied = runner.invoke(audit_app, ["show", "--entity", "action"], env=env(settings))
    assert "access.denied" in denied.output and "1 entries" in denied.output
    assert runner.invoke(audit_app, ["verify"], env=env(settings)).exit_code == 0


def test_show_refuses_a_bad_since(store: Store, settings: Settings) -> None:
    result = CliRunner().invoke(audit_app, ["show", "--since", "yesterday"], env=env(settings))
    assert result.exit_code == 2
    assert "--since" in result.output and "yesterday" in result.output
