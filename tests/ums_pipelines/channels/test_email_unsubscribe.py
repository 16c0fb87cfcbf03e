"""Advertising e-mails carry the one-click unsubscribe headers (RFC 2369 / RFC 8058):
the address is the customer's signed token on the short-link server, set at compose and
written into the MIME message; informational e-mails and a bank without the secret
carry none."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from ums_pipelines.channels.email_mime import build_mime
from ums_pipelines.channels.payload import Payload
from ums_pipelines.content.plan import renderer_for
from ums_pipelines.customers.unsubscribe import read_token
from ums_pipelines.dispatch.claims import Claimed
from ums_pipelines.dispatch.compose import compose_row
from ums_pipelines.jobs import ChannelVariant, template_variants
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.store.models import Customer, Job

SECRET = "unsubscribe-test-secret"
AD_EMAIL = ChannelVariant(
    "email",
    "(광고) UMS은행 {{ name }}님 혜택\n무료수신거부 080-123-4567",
    subject="(광고) UMS은행 혜택 안내",
)
INFO_EMAIL = ChannelVariant("email", "UMS은행 {{ name }}님 거래 안내", subject="거래 안내")


def composed(bank: Any, purpose: Purpose, variant: ChannelVariant) -> dict[str, Any]:
    bank.add_customer("E1", email="e1@example.com", purpose="ad", preferred="email")
    job_id = bank.register(
        template_code=f"mail-{purpose.value}",
        variants=[variant],
        variables=("name",),
        purpose=purpose,
        lane=Lane.MARKETING if purpose is Purpose.ADVERTISING else Lane.INFORMATIONAL,
        routes={"default": ["email"]},
    )
    now = datetime.now(UTC)
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        customer = session.get(Customer, "E1")
        assert job is not None and customer is not None
        variants = template_variants(session, job.template_id, job.template_version)
        renderer = renderer_for(session, bank.settings, job, now)
        row, error = compose_row(
            job, variants["email"], customer, ["email"], 0, now, "2026-11-26", renderer=renderer
        )
    assert error is None
    return row


def mime_of(row: dict[str, Any]) -> Any:
    claimed = Claimed(
        id=1,
        idempotency_key=row["idempotency_key"],
        channel="email",
        message_type=row["message_type"],
        recipient=row["recipient"],
        sender=None,
        provider_template_code=None,
        subject=row["subject"],
        body=row["body"],
        html_body=row["html_body"],
        attempts=1,
        payload=row["payload"],
    )
    return build_mime(claimed, "ums@bank.example", None)


def test_an_advertising_email_carries_the_customers_one_click_address(bank: Any) -> None:
    bank.settings = bank.settings.model_copy(update={"unsubscribe_secret": SecretStr(SECRET)})
    row = composed(bank, Purpose.ADVERTISING, AD_EMAIL)
    url = Payload.from_json(row["payload"]).list_unsubscribe
    assert url is not None and "/u/" in url
    token = read_token(SECRET.encode(), url.rsplit("/u/", 1)[1])
    assert (token.customer_id, token.purpose) == ("E1", "advertising")
    msg = mime_of(row)
    assert msg["List-Unsubscribe"] == f"<{url}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("case", ["informational", "no secret"])
def test_no_header_without_advertising_or_a_secret(bank: Any, case: str) -> None:
    if case == "informational":
        bank.settings = bank.settings.model_copy(update={"unsubscribe_secret": SecretStr(SECRET)})
        row = composed(bank, Purpose.INFORMATIONAL, INFO_EMAIL)
    else:
        row = composed(bank, Purpose.ADVERTISING, AD_EMAIL)
    assert Payload.from_json(row["payload"]).list_unsubscribe is None
    assert mime_of(row)["List-Unsubscribe"] is None
