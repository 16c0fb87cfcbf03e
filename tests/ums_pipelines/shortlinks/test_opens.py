"""Opens where the channel tells (shortlinks/opens.py): an e-mail's 1×1 pixel and a push
the app reports opened, each recorded once as a response the contact history shows; a
provider receipt with status ``opened`` is recorded the same way."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ums_pipelines.channels.payload import Payload, PushOptions
from ums_pipelines.contact.history import contact_history
from ums_pipelines.content.plan import renderer_for
from ums_pipelines.dispatch.compose import compose_row
from ums_pipelines.dispatch.receipts import apply_receipts
from ums_pipelines.jobs import ChannelVariant, template_variants
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.shortlinks.opens import (
    OPEN_DATA_KEY,
    PIXEL_GIF,
    OpenError,
    add_pixel,
    open_token,
    read_open_token,
    with_open_url,
)
from ums_pipelines.shortlinks.server import create_app
from ums_pipelines.store.content import ShortLink
from ums_pipelines.store.models import Customer, DeliveryEvent, Job, Message

SECRET = "opens-test-secret"
KEY = "JOB-1:C12345:0"
EMAIL = ChannelVariant(
    "email",
    "UMS은행 {{ name }}님 거래 안내",
    subject="거래 안내",
    html_body="<html><body><p>{{ name }}님 안내</p></body></html>",
)
PUSH = ChannelVariant("push", "UMS은행 {{ name }}님 거래 안내", subject="거래 안내")


def test_token_is_opaque_and_ours_only() -> None:
    token = open_token(SECRET, KEY)
    assert "C12345" not in token and "JOB-1" not in token
    assert read_open_token(SECRET, token) == KEY
    assert open_token(SECRET, KEY) != token  # a fresh token each render, same message
    with pytest.raises(OpenError, match="token"):
        read_open_token("another-secret", token)
    with pytest.raises(OpenError, match="token"):
        read_open_token(SECRET, token[:-3] + "AAA")
    with pytest.raises(OpenError, match="opens_secret"):
        open_token("", KEY)


@pytest.mark.parametrize(
    ("html", "expected_tail"),
    [
        ("<html><body><p>x</p></body></html>", '"></body></html>'),
        ("<p>x</p></BODY >", '"></BODY >'),
        ("<p>no body tag</p>", 'height:1px">'),
    ],
)
def test_pixel_goes_at_the_end_of_the_body(html: str, expected_tail: str) -> None:
    out = add_pixel(html, "http://s/o/T")
    assert '<img src="http://s/o/T.gif" width="1" height="1" alt=""' in out
    assert out.endswith(expected_tail) and out.startswith(html[:8])


@pytest.mark.parametrize(
    ("channel", "html", "payload", "pixel", "data"),
    [
        ("email", "<p>x</p>", None, True, None),
        ("email", None, None, False, None),  # a text-only mail has nowhere to put it
        ("push", None, None, False, {OPEN_DATA_KEY: "U"}),
        ("push", None, Payload(push=PushOptions(data={"a": "1"})), False,
         {"a": "1", OPEN_DATA_KEY: "U"}),
        ("sms", None, None, False, None),
    ],
)  # fmt: skip
def test_with_open_url_per_channel(
    channel: str, html: str | None, payload: Payload | None, pixel: bool, data: Any
) -> None:
    out_html, out_payload = with_open_url("U", channel, html, payload)
    assert (out_html is not None and "U.gif" in out_html) is pixel
    got = out_payload.push.data if out_payload is not None and out_payload.push else None
    assert got == data


def _compose(bank: Any, variant: ChannelVariant, customer_id: str) -> dict[str, Any]:
    job_id = bank.register(
        template_code=f"open-{variant.channel}",
        variants=[variant],
        variables=("name",),
        purpose=Purpose.INFORMATIONAL,
        lane=Lane.INFORMATIONAL,
        routes={"default": [variant.channel]},
    )
    now = datetime.now(UTC)
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        customer = session.get(Customer, customer_id)
        assert job is not None and customer is not None
        variants = template_variants(session, job.template_id, job.template_version)
        renderer = renderer_for(session, bank.settings, job, now)
        row, error = compose_row(
            job, variants[variant.channel], customer, [variant.channel], 0, now, "2026-11-26",
            renderer=renderer,
        )  # fmt: skip
        assert error is None, error
        row = {k: v for k, v in row.items() if k in Message.__table__.c}
        session.add(Message(**{**row, "state": "delivered"}))
    return row


def _opens(bank: Any) -> list[tuple[str, str, str | None]]:
    with bank.store.reading() as s:
        rows = s.execute(
            select(Message.channel, DeliveryEvent.status, DeliveryEvent.code).join(
                Message, Message.id == DeliveryEvent.message_id
            )
        )
        return sorted(tuple(r) for r in rows)


def test_email_pixel_and_push_report_are_recorded_once_and_shown(bank: Any) -> None:
    bank.settings = bank.settings.model_copy(update={"opens_secret": SecretStr(SECRET)})
    bank.add_customer("E1", email="e1@example.com", preferred="email")
    bank.add_customer("P1", push_token="tok-p1", preferred="push")
    mail = _compose(bank, EMAIL, "E1")
    push = _compose(bank, PUSH, "P1")
    base = bank.settings.shortlink_base_url.rstrip("/") + "/o/"
    pixel = mail["html_body"].split(f'src="{base}', 1)[1].split('"', 1)[0]
    assert pixel.endswith(".gif") and mail["html_body"].endswith("</body></html>")
    assert read_open_token(SECRET, pixel.removesuffix(".gif")) == mail["idempotency_key"]
    assert mail["idempotency_key"] not in pixel and "e1@example.com" not in pixel
    app_url = Payload.from_json(push["payload"]).push.data[OPEN_DATA_KEY]  # type: ignore[union-attr]
    assert app_url.startswith(base)

    client = TestClient(create_app(bank.store, settings=bank.settings))
    assert client.head(f"/o/{pixel}").status_code == 200
    assert _opens(bank) == []  # a HEAD (a scanner looking) is not an open
    for _ in range(2):
        r = client.get(f"/o/{pixel}")
        assert (r.status_code, r.content, r.headers["content-type"]) == (
            200,
            PIXEL_GIF,
            "image/gif",
        )
        assert "no-store" in r.headers["cache-control"]
    bogus = client.get("/o/not-a-token.gif")
    assert (bogus.status_code, bogus.content) == (200, PIXEL_GIF)  # never a broken image
    assert client.post("/o/not-a-token").status_code == 404
    token = app_url.rsplit("/o/", 1)[1]
    assert client.post(f"/o/{token}").status_code == 204
    assert client.post(f"/o/{token}").status_code == 204
    assert _opens(bank) == [("email", "opened", "pixel"), ("push", "opened", "app")]

    with bank.store.reading() as s:
        contacts = contact_history(s, ["E1", "P1"])
    assert {c.customer_id: c.opened_at is not None for c in contacts} == {"E1": True, "P1": True}
    # Opens are not clicks: no short link was made or followed.
    with bank.store.reading() as s:
        assert s.scalars(select(ShortLink)).first() is None


def test_without_secret_nothing_is_tracked(bank: Any) -> None:
    bank.add_customer("E2", email="e2@example.com", preferred="email")
    mail = _compose(bank, EMAIL, "E2")
    assert "/o/" not in mail["html_body"]
    client = TestClient(create_app(bank.store, settings=bank.settings))
    assert client.get(f"/o/{open_token(SECRET, mail['idempotency_key'])}.gif").status_code == 404


def test_an_opened_receipt_is_a_response_and_changes_no_state(bank: Any) -> None:
    bank.add_customer("P3", push_token="tok-p3", preferred="push")
    row = _compose(bank, PUSH, "P3")
    at = datetime.now(UTC) + timedelta(minutes=5)
    receipt = {"clientKey": row["idempotency_key"], "stage": "handset", "status": "opened",
               "at": at.isoformat()}  # fmt: skip
    for _ in range(2):
        apply_receipts(bank.store, bank.settings, "push", [receipt], None)
    with bank.store.reading() as s:
        message = s.scalars(select(Message).where(Message.customer_id == "P3")).one()
        assert message.state == "delivered"
        (contact,) = contact_history(s, ["P3"])
    assert contact.opened_at is not None and abs(contact.opened_at - at) < timedelta(seconds=1)
    assert _opens(bank) == [("push", "opened", None)]
