"""The review hook over HTTP: a request POSTed signed, a callback applied only when its
signature and timestamp are good, refusals answered 409, bad input 400."""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

import httpx
import pytest

from ums_pipelines.compliance.review_hook import ReviewHookError, request_review, requests_of
from ums_pipelines.compliance.review_http import (
    SIGNATURE,
    TIMESTAMP,
    create_app,
    post_request,
    sign,
    verify,
)
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Purpose

with warnings.catch_warnings():
    # Starlette now prefers the httpx2 package; httpx is what this project depends on.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SECRET = "s3cret-for-tests"


def ad_job(bank: Any) -> str:
    bank.add_customer("A0", phone="01030000000", purpose="ad")
    variants = (ChannelVariant("sms", "(광고)UMS은행 이벤트 무료수신거부 0801234567"),)
    return str(
        bank.targeted(purpose=Purpose.ADVERTISING, template_code="ad-http", variants=variants,
                      routes={"sms": ["sms"]}, approve=False)
    )  # fmt: skip


def test_sign_and_verify_refuse_a_changed_body_and_an_old_timestamp() -> None:
    body, now = b'{"a":1}', 1_800_000_000
    headers = {TIMESTAMP: str(now), SIGNATURE: sign(SECRET.encode(), now, body)}
    verify(SECRET.encode(), headers, body, now=now + 10)
    with pytest.raises(ReviewHookError, match="does not match"):
        verify(SECRET.encode(), headers, b'{"a":2}', now=now)
    with pytest.raises(ReviewHookError, match="does not match"):
        verify(b"other", headers, body, now=now)
    with pytest.raises(ReviewHookError, match="timestamp more than 300 s"):
        verify(SECRET.encode(), headers, body, now=now + 301)
    with pytest.raises(ReviewHookError, match="headers are required"):
        verify(SECRET.encode(), {}, body, now=now)


def test_a_request_is_posted_signed_and_the_callback_applied(bank: Any) -> None:
    settings = bank.settings.model_copy(
        update={"review_url": "https://eas.bank.example/requests", "review_secret": SECRET}
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"external_ref": "EAS-1"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    job_id = ad_job(bank)
    with bank.store.session() as session:
        row = request_review(
            session, settings, "job", job_id, "test",
            send=lambda s, p: post_request(s, p, client),
        )  # fmt: skip
        ref = row.request_ref
        assert (row.via, row.external_ref) == ("http", "EAS-1")
        grant_role(session, "bank-head", "approver", "test-dept", granted_by="admin")
    [sent] = seen
    verify(SECRET.encode(), sent.headers, sent.content)
    assert json.loads(sent.content)["request_ref"] == ref

    def call(c: TestClient, body: dict[str, Any], secret: str = SECRET) -> httpx.Response:
        raw = json.dumps(body).encode()
        stamp = int(time.time())
        headers = {TIMESTAMP: str(stamp), SIGNATURE: sign(secret.encode(), stamp, raw)}
        return c.post("/review/decision", content=raw, headers=headers)

    with TestClient(create_app(bank.store, settings)) as c:
        approve = {"request_ref": ref, "decision": "approved", "decided_by": "bank-head"}
        assert call(c, approve, secret="forged").status_code == 401
        author = call(c, {**approve, "decided_by": "test"})
        assert author.status_code == 409 and "author" in author.json()["message"]
        bad = call(c, {**approve, "decision": "perhaps"})
        assert bad.status_code == 400 and bad.json()["error"].startswith("decision:")
        ok = call(c, approve)
        assert ok.status_code == 200 and ok.json()["status"] == "approved"
    with pytest.raises(ReviewHookError, match="review_secret: set UMS_REVIEW_SECRET"):
        create_app(bank.store, bank.settings.model_copy(update={"review_secret": None}))


def test_an_unreachable_review_system_records_nothing(bank: Any) -> None:
    settings = bank.settings.model_copy(
        update={"review_url": "https://eas.bank.example/requests", "review_secret": SECRET}
    )

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = httpx.Client(transport=httpx.MockTransport(down))
    job_id = ad_job(bank)
    with (
        pytest.raises(ReviewHookError, match="review_url: not reachable"),
        bank.store.session() as session,
    ):
        request_review(session, settings, "job", job_id, "test",
                       send=lambda s, p: post_request(s, p, client))  # fmt: skip
    with bank.store.session() as session:
        assert requests_of(session, job_id) == []
