"""The screen board's access (401 without or with a bad credential, 403 without a role,
200 with a good one), its JSON and its Prometheus /metrics against the store."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from ums_pipelines.board.auth import issue_token, revoke_token
from ums_pipelines.board.server import create_app
from ums_pipelines.compliance.roles import revoke_role
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import AuditLog, Message, ProviderCircuit
from ums_pipelines.store.monitoring import BoardToken


def basic(user: str, token: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{token}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture
def viewer(store: Store, grant: Callable[..., None]) -> tuple[str, str]:
    """A staff user with a read-only use (auditor for '*') and a token an admin issued."""
    grant("lee", "auditor")
    with store.session() as session:
        _, token = issue_token(session, "lee", "ops wall", issued_by="admin-kim")
    return "lee", token


@pytest.fixture
def client(store: Store, settings: Settings) -> TestClient:
    return TestClient(create_app(store, settings, cache_s=0))


def seed(store: Store, job_id: str) -> None:
    now = datetime.now(UTC)
    states = ["queued"] * 3 + ["claimed"] * 2 + ["delivered"] * 4 + ["failed"]
    with store.session() as session:
        for i, state in enumerate(states):
            session.add(
                Message(
                    idempotency_key=f"{job_id}.{i}", job_id=job_id, customer_id=f"C{i}",
                    channel="sms", message_type="SMS", provider="sms-relay", leg=0, chain=["sms"],
                    priority=30, recipient="x", body="b", state=state, send_round=0, attempts=1,
                    created_at=now - timedelta(seconds=40), updated_at=now,
                    submitted_at=now - timedelta(seconds=30) if state in ("delivered", "failed")
                    else None, error_code="E-RECIPIENT" if state == "failed" else None,
                    lease_owner="dispatch-1" if state == "claimed" else None,
                )
            )  # fmt: skip
        session.add(
            ProviderCircuit(
                provider="sms-relay", state="half_open", failures=0, open_until_ns=0, probes=1,
                probe_round_ns=0, times_opened=3, updated_at=now,
            )
        )  # fmt: skip


@pytest.mark.parametrize("path", ["/", "/api/snapshot", "/metrics", "/static/board.js"])
def test_refused_without_or_with_a_bad_credential(
    client: TestClient, viewer: tuple[str, str], path: str
) -> None:
    user, token = viewer
    bad = [
        {},
        {"Authorization": "Bearer not-a-token"},
        basic(user, "wrong"),
        basic("someone-else", token),  # a token is its own user's only
        basic("김운영", token),
        {"Authorization": "Basic %%%"},
        {"Authorization": f"Token {token}"},
    ]
    for headers in bad:
        response = client.get(path, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith('Basic realm="UMS board"')
        assert token not in response.text
    assert client.get(path, headers=basic(user, token)).status_code == 200
    assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_revoked_role_or_token_closes_the_board(
    client: TestClient, store: Store, viewer: tuple[str, str], grant: Callable[..., None]
) -> None:
    user, token = viewer
    with store.session() as session:
        revoke_role(session, user, "auditor", "*", revoked_by="admin-kim")
    response = client.get("/api/snapshot", headers=basic(user, token))
    assert response.status_code == 403 and "lee holds no role" in response.text
    grant(user, "operator")
    assert client.get("/api/snapshot", headers=basic(user, token)).status_code == 200
    with store.session() as session:
        row = session.scalars(select(BoardToken)).one()
        revoke_token(session, row.id, "admin-kim")
        with pytest.raises(ValueError, match="revoked already"):
            revoke_token(session, row.id, "admin-kim")
    assert client.get("/", headers=basic(user, token)).status_code == 401


def test_issue_needs_a_role_and_another_person(store: Store, grant: Callable[..., None]) -> None:
    with store.session() as session, pytest.raises(ValueError, match="user: nobody holds no role"):
        issue_token(session, "nobody", "wall", "admin-kim")
    grant("park", "operator", department="card")  # one department only: not the whole board
    with store.session() as session, pytest.raises(ValueError, match="park holds no role for"):
        issue_token(session, "park", "wall", "admin-kim")
    grant("park", "operator")
    with store.session() as session, pytest.raises(ValueError, match="cannot issue"):
        issue_token(session, "park", "wall", "park")
    with store.session() as session, pytest.raises(ValueError, match="label"):
        issue_token(session, "park", " ", "admin-kim")
    with store.session() as session:
        token_id, token = issue_token(session, "park", "wall", "admin-kim")
        entry = session.scalars(
            select(AuditLog).where(AuditLog.action == "board.token_issued")
        ).one()
    assert entry.entity_id == str(token_id) and token not in str(entry.detail)
    assert len(token) >= 40


def test_page_snapshot_and_health(
    client: TestClient, bank: Any, store: Store, viewer: tuple[str, str]
) -> None:
    seed(store, bank.register())
    auth = basic(*viewer)
    page = client.get("/", headers=auth)
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'data-refresh-ms="5000"' in page.text and 'id="stage-table"' in page.text
    assert 'id="nav-calendar-slot"></span>' in page.text  # no calendar route given
    snap = client.get("/api/snapshot", headers=auth).json()
    assert snap["stage_totals"]["queued"] == 3 and snap["stage_totals"]["delivered"] == 4
    assert snap["by_channel"]["sms"]["failed"] == 1
    assert client.get("/health").json() == {"status": "ok"}


def test_calendar_link_appears_with_its_route(
    store: Store, settings: Settings, viewer: tuple[str, str]
) -> None:
    async def calendar(request: Any) -> PlainTextResponse:
        return PlainTextResponse("calendar view")

    app = TestClient(create_app(store, settings, extra_routes=[Route("/calendar", calendar)]))
    page = app.get("/", headers=basic(*viewer))
    assert '<a id="nav-calendar" href="/calendar">' in page.text
    assert app.get("/calendar").text == "calendar view"  # the calendar's own route


def test_metrics_exposition_has_the_expected_samples(
    client: TestClient, bank: Any, store: Store, viewer: tuple[str, str]
) -> None:
    seed(store, bank.register())
    response = client.get("/metrics", headers={"Authorization": f"Bearer {viewer[1]}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }

    def value(metric: str, **labels: str) -> float:
        return samples[(metric, tuple(sorted(labels.items())))]

    base = {"channel": "sms", "provider": "sms-relay", "lane": "informational"}
    assert value("ums_messages", stage="queued", **base) == 3
    assert value("ums_messages", stage="claimed", **base) == 2
    assert value("ums_messages", stage="delivered", **base) == 4
    assert value("ums_messages", stage="failed", **base) == 1
    assert (
        value("ums_message_failures", stage="failed", at="ums", reason="E-RECIPIENT", **base) == 1
    )
    assert value("ums_backlog_messages", lane="informational") == 5
    assert value("ums_backlog_oldest_age_seconds", lane="informational") >= 40
    assert value(
        "ums_messages_per_minute", kind="delivered", channel="sms", provider="sms-relay"
    ) == (pytest.approx(4 / 5))
    assert value("ums_failure_share", channel="sms", provider="sms-relay") == pytest.approx(0.2)
    assert value("ums_circuit_state", provider="sms-relay", state="half_open") == 1
    assert value("ums_circuit_state", provider="sms-relay", state="open") == 0
    assert value("ums_circuit_times_opened", provider="sms-relay") == 3
    assert value("ums_agent_claimed_messages", agent="dispatch-1") == 2
    assert value("ums_jobs", status="registered") == 1
    assert value("ums_light", kind="provider", name="sms-relay") == 1  # half-open: amber
    assert value("ums_stage_latency_seconds", stage="created_to_submitted", channel="sms",
                 quantile="0.5") == pytest.approx(10, abs=0.01)  # fmt: skip
    assert ("ums_snapshot_duration_seconds", ()) in samples


def test_metrics_only_app(store: Store, settings: Settings, viewer: tuple[str, str]) -> None:
    """``ums metrics serve``: /metrics (same tokens) and /health, no page."""
    app = TestClient(create_app(store, settings, metrics_only=True, cache_s=0))
    assert app.get("/metrics").status_code == 401
    scrape = app.get("/metrics", headers={"Authorization": f"Bearer {viewer[1]}"})
    assert scrape.status_code == 200 and "ums_snapshot_timestamp_seconds" in scrape.text
    assert app.get("/", headers=basic(*viewer)).status_code == 404
    assert app.get("/api/snapshot", headers=basic(*viewer)).status_code == 404
