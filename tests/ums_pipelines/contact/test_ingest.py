"""MO replies end to end (done-when 3): an advertising send, a "수신거부" reply, the poll,
the opt-out with its audit entry, and the next advertising job without that customer."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ums_pipelines.audit import verify_chain
from ums_pipelines.contact.ingest import FEEDS, MoResult, poll_mo
from ums_pipelines.customers.optouts import is_opted_out
from ums_pipelines.dispatch.outbox import enqueue_job
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.gateway_sim import GatewaySimulator
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.store.contact import MoMessage, OptOut
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import AuditLog, Consent, Job, Message, Watermark
from ums_pipelines.targets import read_targets

SENDER = "15881234"  # the Bank fixture's registered sender number
AUTH = {"Authorization": "Bearer sim-token"}
AD = [ChannelVariant("sms", "(광고) UMS은행 {{ name }}님 특별금리 안내 무료수신거부 0801234567")]
INFO = [ChannelVariant("sms", "UMS은행 {{ name }}님 거래 안내")]
SMS_ONLY = {"default": ["sms"]}


def numbers(n: int) -> list[str]:
    """Phone numbers of this test only: the simulator (and its MO feed) is shared."""
    base = uuid.uuid4().int % 10_000_000
    return [f"010{(base + i) % 100_000_000:08d}" for i in range(n)]


def customers(bank: Any, phones: list[str]) -> list[str]:
    ids = []
    for i, phone in enumerate(phones):
        cid = f"M{i}"
        bank.add_customer(cid, phone=phone, consents=["sms"], purpose="ad", name=f"고객{i}")
        with bank.store.session() as session:
            session.add(
                Consent(
                    customer_id=cid,
                    channel="sms",
                    purpose="info",
                    granted=True,
                    consented_at=utcnow(),
                    source="test",
                )
            )
        ids.append(cid)
    return ids


def job(bank: Any, purpose: Purpose) -> str:
    ad = purpose is Purpose.ADVERTISING
    job_id: str = bank.targeted(
        template_code=f"t-{uuid.uuid4().hex[:8]}",
        variants=AD if ad else INFO,
        variables=["name"],
        routes=SMS_ONLY,
        purpose=purpose,
        lane=Lane.MARKETING if ad else Lane.INFORMATIONAL,
    )
    return job_id


def send(bank: Any, job_id: str) -> dict[str, Message]:
    enqueue_job(bank.store, bank.settings, job_id)
    asyncio.run(Dispatcher(bank.store, bank.settings).run_job(job_id, 120))
    return {m.customer_id: m for m in bank.messages(job_id)}


def skip_earlier_mos(bank: Any, gateway: GatewaySimulator) -> dict[str, int]:
    """Start this store's cursors at the feeds' ends: earlier tests' MOs are not ours."""
    cursors: dict[str, int] = {}
    for channel, (_, path) in FEEDS.items():
        cursor = 0
        while True:
            body = httpx.get(
                f"{gateway.base_url}{path}", params={"cursor": cursor}, headers=AUTH
            ).json()
            if not body["messages"]:
                break
            cursor = body["nextCursor"]
        with bank.store.session() as session:
            session.merge(Watermark(name=f"mo:{channel}", value=str(cursor), updated_at=utcnow()))
        cursors[channel] = cursor
    return cursors


def inject(gateway: GatewaySimulator, **body: Any) -> str:
    body = {"to": SENDER, "channel": "sms"} | body
    response = httpx.post(f"{gateway.base_url}/admin/v1/mo", json=body)
    assert response.status_code == 201, response.text
    mo_id: str = response.json()["moId"]
    return mo_id


def poll(bank: Any) -> MoResult:
    async def go() -> MoResult:
        async with httpx.AsyncClient() as client:
            return await poll_mo(bank.store, bank.settings, client)

    return asyncio.run(go())


def spaced(phone: str) -> str:
    return f"+82 {phone[1:3]}-{phone[3:7]}-{phone[7:]}"


@pytest.mark.parametrize(
    ("text", "by_reference"),
    [("수신거부", True), ("수 신 거 부", False)],
    ids=["keyword-with-reference", "spaced-keyword-by-number"],
)
@pytest.mark.usefixtures("ads_allowed_now")  # its advertising must go in the Korean evening too
def test_a_suppression_reply_opts_out_of_advertising_before_the_next_send(
    sim_bank: Any, gateway: GatewaySimulator, text: str, by_reference: bool
) -> None:
    bank = sim_bank
    phones = numbers(3)
    a, b, c = customers(bank, phones)
    sent = send(bank, job(bank, Purpose.ADVERTISING))
    assert all(m.provider_message_id for m in sent.values())
    start = skip_earlier_mos(bank, gateway)

    reply = {"inReplyTo": sent[a].provider_message_id} if by_reference else {}
    opt_mo = inject(gateway, **{"from": spaced(phones[0]), "text": text}, **reply)
    care_mo = inject(gateway, **{"from": phones[1], "text": "대출 상담 받고 싶어요"})
    stray_mo = inject(gateway, **{"from": numbers(1)[0], "text": "수신거부"})
    result = poll(bank)
    assert (result.stored, result.opt_out, result.care, result.unmatched) == (3, 1, 1, 1)
    assert result.opt_outs_recorded == 1

    with bank.store.session() as session:
        mos = {m.provider_mo_id: m for m in session.scalars(select(MoMessage))}
        [opt] = session.scalars(select(OptOut)).all()
        [entry] = session.scalars(
            select(AuditLog).where(AuditLog.action == "optout.recorded")
        ).all()
        assert verify_chain(session) > 0
        assert is_opted_out(session, a, "sms", "advertising")
        assert not is_opted_out(session, a, "sms", "informational")
    mo = mos[opt_mo]
    assert (mo.route, mo.keyword, mo.customer_id) == ("opt_out", "수신거부", a)
    assert (mo.provider, mo.channel, mo.sender) == ("relay", "sms", f"+82{phones[0][1:]}")
    assert mo.message_id == sent[a].id and mo.handled_at is not None
    assert (mos[care_mo].route, mos[care_mo].customer_id) == ("care", b)
    assert mos[care_mo].message_id == sent[b].id and mos[care_mo].handled_at is None
    assert (mos[stray_mo].route, mos[stray_mo].customer_id) == ("unmatched", None)

    assert (opt.customer_id, opt.purpose, opt.channel) == (a, "advertising", None)
    assert (opt.source, opt.reference, opt.withdrawn_at) == ("mo", str(mo.id), None)
    assert (entry.entity, entry.entity_id) == ("customer", a)
    detail = entry.detail
    assert (detail["source"], detail["keyword"], detail["purpose"]) == (
        "mo",
        "수신거부",
        "advertising",
    )
    assert (detail["mo_id"], detail["answered_message_id"]) == (mo.id, sent[a].id)
    assert detail["number"] == f"010-****-{phones[0][-4:]}"
    assert phones[0][3:7] not in str(detail)

    # The next advertising job leaves the customer out; an informational one does not.
    # (Its second advertising send of the day: the daily frequency cap is lifted here.)
    bank.settings.freq_cap_day = {}
    ad_next = job(bank, Purpose.ADVERTISING)
    info_next = job(bank, Purpose.INFORMATIONAL)
    with bank.store.session() as session:
        ad_job, info_job = session.get(Job, ad_next), session.get(Job, info_next)
        assert ad_job is not None and info_job is not None
        assert ad_job.suppressed == {"opt_out": 1}
        assert "opt_out" not in (info_job.suppressed or {})
    assert sorted(read_targets(bank.settings, ad_next)["customer_id"]) == [b, c]
    assert sorted(read_targets(bank.settings, info_next)["customer_id"]) == [a, b, c]

    # Read once: polling again stores nothing, and a re-delivered MO is stored once.
    assert poll(bank).fetched == 0
    with bank.store.session() as session:
        session.merge(Watermark(name="mo:sms", value=str(start["sms"]), updated_at=utcnow()))
    again = poll(bank)
    assert (again.fetched, again.stored, again.duplicates) == (3, 0, 3)


def test_an_rcs_reply_answering_nothing_opts_out_of_every_purpose(
    sim_bank: Any, gateway: GatewaySimulator
) -> None:
    bank = sim_bank
    phones = numbers(2)
    a, b = customers(bank, phones)
    skip_earlier_mos(bank, gateway)
    inject(gateway, **{"from": phones[0], "text": "STOP", "channel": "rcs"})
    result = poll(bank)
    assert (result.opt_out, result.opt_outs_recorded) == (1, 1)
    with bank.store.session() as session:
        [opt] = session.scalars(select(OptOut)).all()
        [mo] = session.scalars(select(MoMessage)).all()
    assert (opt.customer_id, opt.purpose, opt.channel) == (a, None, None)
    assert (mo.provider, mo.channel, mo.message_id, mo.keyword) == ("rcs", "rcs", None, "STOP")
    info_next = job(bank, Purpose.INFORMATIONAL)
    assert sorted(read_targets(bank.settings, info_next)["customer_id"]) == [b]


def test_a_reply_outside_the_window_matches_no_message(
    sim_bank: Any, gateway: GatewaySimulator
) -> None:
    bank = sim_bank
    bank.settings = bank.settings.model_copy(update={"mo_match_window_hours": 0.0001})
    phones = numbers(1)
    [a] = customers(bank, phones)
    send(bank, job(bank, Purpose.ADVERTISING))
    skip_earlier_mos(bank, gateway)
    time.sleep(0.5)  # past the 0.36-s window
    inject(gateway, **{"from": phones[0], "text": "거부"})
    poll(bank)
    with bank.store.session() as session:
        [mo] = session.scalars(select(MoMessage)).all()
        [opt] = session.scalars(select(OptOut)).all()
    # Still this customer's number, but no answered message: every purpose.
    assert (mo.customer_id, mo.message_id, mo.route) == (a, None, "opt_out")
    assert opt.purpose is None


def test_a_malformed_feed_item_is_skipped_and_the_cursor_moves_on(bank: Any) -> None:
    bank.add_customer("C1", phone="01055556666")
    pages = {
        0: {
            "messages": [
                {"seq": 1, "from": "01055556666"},  # no moKey, no callback
                {
                    "seq": 2,
                    "moKey": "MOgood",
                    "from": "01055556666",
                    "callback": SENDER,
                    "text": "문의드립니다",
                    "receivedAt": "2026-11-25T10:00:00.000+09:00",
                },
            ],
            "nextCursor": 2,
        },
        2: {"messages": [], "nextCursor": 2},
    }

    def feed(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/sms/v1/mo":
            return httpx.Response(200, json={"messages": [], "nextCursor": 0})
        return httpx.Response(200, json=pages[int(request.url.params["cursor"])])

    async def go() -> MoResult:
        async with httpx.AsyncClient(transport=httpx.MockTransport(feed)) as client:
            return await poll_mo(bank.store, bank.settings, client)

    result = asyncio.run(go())
    assert (result.malformed, result.stored, result.care) == (1, 1, 1)
    with bank.store.session() as session:
        mark = session.get(Watermark, "mo:sms")
        [mo] = session.scalars(select(MoMessage)).all()
    assert mark is not None and mark.value == "2"
    assert (mo.provider_mo_id, mo.customer_id, mo.route) == ("MOgood", "C1", "care")
