"""The short-link server's opt-out endpoints (shortlinks/unsubscribe.py): e-mail one-click
unsubscribe at /u/{token} and the app's signed POST /app/push-settings."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ums_pipelines.customers.unsubscribe import (
    ONE_CLICK,
    UnsubscribeError,
    list_unsubscribe_headers,
    make_token,
    read_token,
    unsubscribe_url,
)
from ums_pipelines.settings import Settings
from ums_pipelines.shortlinks.server import create_app
from ums_pipelines.shortlinks.unsubscribe import SIGNATURE, TIMESTAMP, sign
from ums_pipelines.store.contact import OptOut

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
U_SECRET, APP_SECRET = b"unsubscribe-test-secret", b"app-test-secret"


def configured(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "unsubscribe_secret": SecretStr(U_SECRET.decode()),
            "app_webhook_secret": SecretStr(APP_SECRET.decode()),
        }
    )


def client(bank: Any, settings: Settings | None = None) -> TestClient:
    app = create_app(bank.store, clock=lambda: NOW, settings=settings or configured(bank.settings))
    return TestClient(app)


def opt_outs(bank: Any) -> list[tuple[str, str | None, str | None, str]]:
    with bank.store.session() as session:
        rows = session.scalars(select(OptOut).order_by(OptOut.id)).all()
        return [(r.customer_id, r.channel, r.purpose, r.source) for r in rows]


def test_tokens_round_trip_and_refuse_tampering() -> None:
    token = make_token(U_SECRET, "C1")
    assert read_token(U_SECRET, token).customer_id == "C1"
    assert read_token(U_SECRET, token).purpose == "advertising"
    assert "김" not in token and "@" not in token
    with pytest.raises(UnsubscribeError, match="signature"):
        read_token(b"another-secret", token)
    forged = make_token(U_SECRET, "C2").split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(UnsubscribeError, match="signature"):
        read_token(U_SECRET, forged)
    for bad in ("", "nodot", "a.b.c", token[:-3]):
        with pytest.raises(UnsubscribeError):
            read_token(U_SECRET, bad)
    with pytest.raises(UnsubscribeError, match="purpose"):
        make_token(U_SECRET, "C1", "spam")


def test_url_and_headers_need_the_secret(settings: Settings) -> None:
    with pytest.raises(UnsubscribeError, match="UMS_UNSUBSCRIBE_SECRET"):
        unsubscribe_url(settings, "C1")
    url = unsubscribe_url(configured(settings), "C1")
    assert url.startswith(settings.shortlink_base_url.rstrip("/") + "/u/")
    headers = list_unsubscribe_headers(url)
    assert headers == {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK}


def test_get_confirms_and_post_unsubscribes_once(bank: Any) -> None:
    bank.add_customer("C1", email="c1@example.com")
    token = make_token(U_SECRET, "C1")
    with client(bank) as http:
        page = http.get(f"/u/{token}")
        assert page.status_code == 200 and "수신거부" in page.text and 'method="post"' in page.text
        assert "form-action 'self'" in page.headers["content-security-policy"]
        assert opt_outs(bank) == []  # a GET (a mail scanner) records nothing
        done = http.post(
            f"/u/{token}",
            content=ONE_CLICK,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200 and "수신거부 완료" in done.text
        assert http.post(f"/u/{token}", content=ONE_CLICK).status_code == 200
    assert opt_outs(bank) == [("C1", "email", "advertising", "email_unsubscribe")]


def test_a_wrong_token_or_no_secret_is_not_found(bank: Any) -> None:
    token = make_token(b"not-our-secret", "C1")
    with client(bank) as http:
        assert http.post(f"/u/{token}").status_code == 404
        assert http.get("/u/garbage").status_code == 404
    with client(bank, bank.settings) as http:  # no secrets configured
        assert http.post(f"/u/{make_token(U_SECRET, 'C1')}").status_code == 404
    assert opt_outs(bank) == []


def signed(body: bytes, secret: bytes = APP_SECRET, at: datetime = NOW) -> dict[str, str]:
    stamp = int(at.timestamp())
    return {
        TIMESTAMP: str(stamp),
        SIGNATURE: sign(secret, stamp, body),
        "content-type": "application/json",
    }


def test_push_settings_records_signed_events(bank: Any) -> None:
    bank.add_customer("P1", push_token="tok-p1-aaaaaaaa")
    bank.add_customer("P2", push_token="tok-p2-bbbbbbbb")
    body = json.dumps(
        {
            "events": [
                {"customer_id": "P1", "at": "2026-11-25T11:00:00+09:00"},
                {
                    "push_token": "tok-p2-bbbbbbbb",
                    "at": "2026-11-25T11:00:00+09:00",
                    "marketing_only": True,
                },
                {"customer_id": "NOPE", "at": "2026-11-25T11:00:00+09:00"},
                {"customer_id": "P1"},
            ]
        }
    ).encode()
    with client(bank) as http:
        response = http.post("/app/push-settings", content=body, headers=signed(body))
        assert response.status_code == 200, response.text
        counts = response.json()
        assert (counts["recorded"], counts["customers"]) == (2, 2)
        assert counts["unmatched"] == [{"line": 3, "who": "NOPE"}]
        assert counts["bad"] == [{"line": 4, "reason": "at: missing"}]
        # The app retries a call it saw fail: nothing is recorded twice.
        again = http.post("/app/push-settings", content=body, headers=signed(body)).json()
        assert (again["recorded"], again["already"]) == (0, 2)
    assert sorted(opt_outs(bank)) == [
        ("P1", "push", None, "push_off"),
        ("P2", "push", "advertising", "push_off"),
    ]


def test_push_settings_refuses_bad_signatures_and_bodies(bank: Any) -> None:
    bank.add_customer("P1")
    body = json.dumps({"customer_id": "P1", "at": "2026-11-25T11:00:00+09:00"}).encode()
    stale = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    with client(bank) as http:
        for headers in (
            {},
            signed(body, secret=b"wrong"),
            signed(body, at=stale),
            signed(body + b" "),
        ):
            assert http.post("/app/push-settings", content=body, headers=headers).status_code == 401
        not_json = b"{not json"
        response = http.post("/app/push-settings", content=not_json, headers=signed(not_json))
        assert response.status_code == 400 and "body" in response.json()["error"]
        empty = b'{"events": []}'
        response = http.post("/app/push-settings", content=empty, headers=signed(empty))
        assert response.status_code == 400 and "events" in response.json()["error"]
    with client(bank, bank.settings) as http:
        assert (
            http.post("/app/push-settings", content=body, headers=signed(body)).status_code == 503
        )
    assert opt_outs(bank) == []
