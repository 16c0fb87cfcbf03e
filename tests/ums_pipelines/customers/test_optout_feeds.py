"""The opt-out feeds (customers/optout_feeds.py, optout_files.py, optout_care.py): each
source records its scope, once; bad rows are reported and skipped; an opt-out stops the
customer's queued advertising at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ums_pipelines.customers.optout_care import list_opt_outs, record_manual
from ums_pipelines.customers.optout_feeds import (
    SCOPES_080,
    SCOPES_KAKAO_BLOCK,
    apply_phone_events,
    apply_push_file,
)
from ums_pipelines.customers.optout_files import (
    FeedError,
    parse_080,
    parse_kakao_blocks,
    parse_push_events,
    parse_when,
)
from ums_pipelines.customers.optouts import is_opted_out
from ums_pipelines.dispatch import lastmile
from ums_pipelines.dispatch.outbox import enqueue_job
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.store.contact import OptOut
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import AuditLog, Consent

KST = ZoneInfo("Asia/Seoul")
AD = [ChannelVariant("sms", "(광고) UMS은행 {{ name }}님 특별금리 안내 무료수신거부 0801234567")]
INFO = [ChannelVariant("sms", "UMS은행 {{ name }}님 거래 안내")]
SMS_ONLY = {"default": ["sms"]}


def scopes(store: Any, customer_id: str) -> set[tuple[str | None, str | None, str]]:
    with store.session() as session:
        rows = session.scalars(select(OptOut).where(OptOut.customer_id == customer_id)).all()
        return {(r.channel, r.purpose, r.source) for r in rows}


def import_080(bank: Any, data: bytes, name: str = "optout_20261125.csv") -> Any:
    events, bad = parse_080(data, KST)
    return apply_phone_events(
        bank.store,
        events,
        bad,
        source="080",
        name=name,
        scopes=SCOPES_080,
        describe=lambda e: "080 call",
        actor="test-ops",
    )


def test_parse_080_utf8_cp949_headerless_and_bad_rows() -> None:
    text = (
        "phone,opted_out_at,called_number\n"
        "010-1234-5678,2026-11-25 09:30:00,080-123-4567\n"
        "not-a-phone,2026-11-25 09:30:00,\n"
        "01098765432,yesterday,\n"
        "+82 10 2222 3333,20261125093000\n"
    )
    for encoding in ("utf-8", "cp949"):
        events, bad = parse_080(text.encode(encoding), KST)
        assert [(e.line, e.phone, e.detail) for e in events] == [
            (2, "01012345678", "080-123-4567"),
            (5, "01022223333", None),
        ]
        assert events[0].at == datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # KST 09:30
        assert [(b.line, b.reason.split(":")[0]) for b in bad] == [
            (3, "phone"),
            (4, "opted_out_at"),
        ]
        assert "2222" not in " ".join(b.reason for b in bad)
    headerless, bad = parse_080(b"01012345678,2026-11-25T09:30:00+09:00\n", KST)
    assert [e.phone for e in headerless] == ["01012345678"] and not bad
    # A Korean header from a CP949 file, and a file with no phone column at all.
    korean, _ = parse_080(
        "휴대폰번호,수신거부일시\n01012345678,20261125093000\n".encode("cp949"), KST
    )
    assert len(korean) == 1
    with pytest.raises(FeedError, match="phone"):
        parse_080(b"name,when\nkim,2026-11-25\n", KST)


def test_parse_when_names_the_field() -> None:
    assert parse_when("2026-11-25T00:00:00Z", KST, "at") == datetime(2026, 11, 25, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"^blocked_at: missing"):
        parse_when("", KST, "blocked_at")


def test_080_opts_every_customer_with_the_number_out_of_advertising(bank: Any) -> None:
    bank.add_customer("A1", phone="01011112222")
    bank.add_customer("A2", phone="01011112222")  # one family number, two customers
    bank.add_customer("B1", phone="01033334444")
    data = (
        b"phone,opted_out_at,called_number\n"
        b"010-1111-2222,2026-11-25 09:30:00,0801234567\n"
        b"010-5555-6666,2026-11-25 09:31:00,0801234567\n"  # no customer
        b"bad,2026-11-25 09:32:00,\n"
    )
    result = import_080(bank, data)
    assert (result.events, result.recorded, result.already) == (2, 2, 0)
    assert result.customers == {"A1", "A2"}
    assert result.unmatched == [(3, "010-****-6666")]
    assert [(b.line, b.reason.split(":")[0]) for b in result.bad] == [(4, "phone")]
    assert scopes(bank.store, "A1") == {(None, "advertising", "080")}
    assert scopes(bank.store, "B1") == set()
    with bank.store.session() as session:
        assert is_opted_out(session, "A2", "email", "advertising")
        assert not is_opted_out(session, "A2", "sms", "informational")
        [row] = session.scalars(select(OptOut).where(OptOut.customer_id == "A1")).all()
        assert row.reference == "optout_20261125.csv:2"
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "optout.imported")).one()
        assert entry.detail["recorded"] == 2 and entry.detail["unmatched"] == 1
        assert "5555" not in str(entry.detail)


def test_reimporting_records_nothing_twice_even_after_a_withdrawal(bank: Any) -> None:
    bank.add_customer("A1", phone="01011112222")
    data = b"phone,opted_out_at\n01011112222,2026-11-25 09:30:00\n"
    assert import_080(bank, data).recorded == 1
    again = import_080(bank, data)
    assert (again.recorded, again.already) == (0, 1)
    # The customer consented again: the old file must not opt them out once more.
    with bank.store.session() as session:
        row = session.scalars(select(OptOut)).one()
        row.withdrawn_at = utcnow()
    assert import_080(bank, data, name="resent.csv").recorded == 0
    # A later call is a new opt-out.
    later = b"phone,opted_out_at\n01011112222,2026-11-26 10:00:00\n"
    assert import_080(bank, later).recorded == 1


def test_kakao_block_covers_friendtalk_and_brand_advertising(bank: Any) -> None:
    bank.add_customer("K1", phone="01077778888")
    data = (
        b'{"phone": "01077778888", "blocked_at": "2026-11-25T10:00:00+09:00",'
        b' "sender_key": "abc123"}\n'
        b'{"phone": "01077778888"}\n'
        b"[1, 2]\n"
    )
    events, bad = parse_kakao_blocks(data, KST)
    assert [(b.line, b.reason) for b in bad] == [
        (2, "blocked_at: missing"),
        (3, "line: not a JSON object"),
    ]
    result = apply_phone_events(
        bank.store,
        events,
        bad,
        source="kakao_block",
        name="blocks.jsonl",
        scopes=SCOPES_KAKAO_BLOCK,
        describe=lambda e: f"blocked {e.detail}",
        actor="test-ops",
    )
    assert result.recorded == 2
    assert scopes(bank.store, "K1") == {
        ("friendtalk", "advertising", "kakao_block"),
        ("brand", "advertising", "kakao_block"),
    }
    with bank.store.session() as session:
        assert not is_opted_out(session, "K1", "alimtalk", "advertising")
        assert not is_opted_out(session, "K1", "sms", "advertising")


def test_push_off_by_id_or_token_with_marketing_only(bank: Any) -> None:
    bank.add_customer("P1", push_token="tok-p1-aaaaaaaa")
    bank.add_customer("P2", push_token="tok-p2-bbbbbbbb")
    data = (
        b'{"customer_id": "P1", "at": "2026-11-25T10:00:00+09:00"}\n'
        b'{"push_token": "tok-p2-bbbbbbbb", "at": "2026-11-25T10:00:00+09:00",'
        b' "marketing_only": true}\n'
        b'{"push_token": "tok-unknown-zzzz", "at": "2026-11-25T10:00:00+09:00"}\n'
        b'{"customer_id": "P1", "at": "2026-11-25T10:00:00+09:00", "marketing_only": "yes"}\n'
        b'{"at": "2026-11-25T10:00:00+09:00"}\n'
    )
    events, bad = parse_push_events(data, KST)
    assert [(b.line, b.reason.split(":")[0]) for b in bad] == [
        (4, "marketing_only"),
        (5, "customer_id"),
    ]
    result = apply_push_file(bank.store, events, bad, name="push.jsonl", actor="app")
    assert result.recorded == 2
    assert result.unmatched == [(3, "tok-un…")]
    assert scopes(bank.store, "P1") == {("push", None, "push_off")}
    assert scopes(bank.store, "P2") == {("push", "advertising", "push_off")}
    again = apply_push_file(bank.store, events, bad, name="push.jsonl", actor="app")
    assert (again.recorded, again.already) == (0, 2)


def test_manual_care_opt_out_checks_its_input(bank: Any) -> None:
    bank.add_customer("M1")
    now = utcnow()
    with bank.store.session() as session:
        for channel, purpose, field in (("fax", "all", "channel"), ("sms", "promo", "purpose")):
            with pytest.raises(ValueError, match=f"^{field}:"):
                record_manual(
                    session, "M1", channel, purpose, actor="t", reference=None, note=None, now=now
                )
        with pytest.raises(ValueError, match=r"^customer:"):
            record_manual(
                session, "NOPE", "sms", "all", actor="t", reference=None, note=None, now=now
            )
        row = record_manual(
            session, "M1", "sms", "all", actor="care-kim", reference="T-1", note=None, now=now
        )
        assert row is not None and (row.channel, row.purpose, row.source) == ("sms", None, "care")
        assert (
            record_manual(
                session, "M1", "sms", "all", actor="care-kim", reference="T-2", note=None, now=now
            )
            is None
        )
    with bank.store.session() as session:
        assert [r.source for r in list_opt_outs(session, customer_id="M1")] == ["care"]
        assert list_opt_outs(session, source="080") == []


def _job(bank: Any, purpose: Purpose) -> str:
    ad = purpose is Purpose.ADVERTISING
    job_id: str = bank.targeted(
        template_code=f"t-{uuid.uuid4().hex[:8]}",
        variants=AD if ad else INFO,
        variables=["name"],
        routes=SMS_ONLY,
        purpose=purpose,
        lane=Lane.MARKETING if ad else Lane.INFORMATIONAL,
    )
    enqueue_job(bank.store, bank.settings, job_id)
    return job_id


def test_an_080_opt_out_stops_queued_advertising_not_notices(bank: Any) -> None:
    for cid, phone in (("Q1", "01044445555"), ("Q2", "01066667777")):
        bank.add_customer(cid, phone=phone, consents=["sms"], purpose="ad")
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
    ad_job, info_job = _job(bank, Purpose.ADVERTISING), _job(bank, Purpose.INFORMATIONAL)
    waiting = {"queued", "held"}
    assert {m.state for m in bank.messages(ad_job)} <= waiting
    import_080(bank, b"phone,opted_out_at\n01044445555,2026-11-25 09:30:00\n")
    ad = {m.customer_id: (m.state, m.error_code) for m in bank.messages(ad_job)}
    assert ad["Q1"] == ("cancelled", lastmile.CODE)
    assert ad["Q2"][0] in waiting
    assert {m.state for m in bank.messages(info_job)} <= waiting
