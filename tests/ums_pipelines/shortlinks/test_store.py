"""Short links in the store, on both backends: one link per URL of a message, expiry,
clicks, and clicks read back as response data joined to their outbox rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from ums_pipelines.dispatch.outbox import enqueue_job
from ums_pipelines.shortlinks.codes import is_code
from ums_pipelines.shortlinks.store import (
    insert_links,
    link_row,
    record_click,
    resolve,
    responses,
    short_url,
)
from ums_pipelines.store import Store, utcnow
from ums_pipelines.store.content import LinkClick, ShortLink
from ums_pipelines.store.models import Message

TTL = timedelta(days=90)


def row(key: str, position: int = 0, **kw: Any) -> dict[str, Any]:
    now = kw.pop("now", utcnow())
    fields: dict[str, Any] = {
        "message_key": key,
        "position": position,
        "kind": "link",
        "job_id": "job-1",
        "customer_id": "C1",
        "target_url": f"https://bank.example/event?p={position}",
        "now": now,
        "expires_at": now + TTL,
    }
    return link_row(**(fields | kw))


def links(store: Store) -> list[ShortLink]:
    with store.session() as session:
        return list(session.scalars(select(ShortLink).order_by(ShortLink.message_key, "position")))


def enqueued(bank: Any, *customers: str) -> list[Message]:
    """Real outbox rows: customers, a job, frozen targets, leg 0 enqueued."""
    for i, cid in enumerate(customers):
        bank.add_customer(cid, preferred="sms", phone=f"010{40000000 + i}")
    job_id = bank.targeted(routes={"default": ["sms"]})
    enqueue_job(bank.store, bank.settings, job_id)
    messages: list[Message] = bank.messages(job_id)
    assert sorted(m.customer_id for m in messages) == sorted(customers)
    return messages


def link_for(message: Message, position: int = 0, kind: str = "link") -> dict[str, Any]:
    return row(
        message.idempotency_key,
        position,
        kind=kind,
        job_id=message.job_id,
        customer_id=message.customer_id,
    )


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []

    def on_execute(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", on_execute)


# -- writing -----------------------------------------------------------------------------


def test_a_message_rendered_twice_keeps_one_link_per_url(store: Store) -> None:
    first = [row("job-1.aaa", 0), row("job-1.aaa", 1), row("job-1.bbb", 0)]
    with store.session() as session:
        insert_links(session, first)
    # A split taken over after a crash renders again: fresh codes, the same positions.
    again = [row("job-1.aaa", 0), row("job-1.aaa", 1), row("job-1.bbb", 0), row("job-1.ccc", 0)]
    with store.session() as session:
        insert_links(session, again)
    stored = links(store)
    assert [(link.message_key, link.position) for link in stored] == [
        ("job-1.aaa", 0),
        ("job-1.aaa", 1),
        ("job-1.bbb", 0),
        ("job-1.ccc", 0),
    ]
    # The first codes stay (they are the ones in the message already written).
    assert [link.code for link in stored[:3]] == [r["code"] for r in first]
    assert stored[3].code == again[3]["code"]


def test_a_large_batch_is_one_bulk_insert_without_reads(store: Store) -> None:
    rows = [row(f"job-1.{i:06d}", 0, customer_id=f"C{i}") for i in range(5000)]
    with statements(store) as seen, store.session() as session:
        insert_links(session, rows)
    inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == len([s for s in seen if "short_links" in s])
    assert 1 <= len(inserts) <= 10  # executemany (PostgreSQL pages it by 1,000 rows)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ShortLink)) == 5000


def test_inserting_nothing_runs_nothing(store: Store) -> None:
    with statements(store) as seen, store.session() as session:
        insert_links(session, [])
    assert not [s for s in seen if "short_links" in s]


def test_link_row_makes_a_fresh_code_each_time() -> None:
    now = utcnow()
    a, b = row("k", now=now), row("k", now=now)
    assert is_code(a["code"]) and is_code(b["code"]) and a["code"] != b["code"]
    del a["code"], b["code"]
    assert a == b


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "banner"}, "kind"),
        ({"position": -1}, "position"),
        ({"position": True}, "position"),
        ({"message_key": ""}, "message_key"),
        ({"message_key": "k" * 97}, "message_key"),
        ({"customer_id": "C" * 33}, "customer_id"),
        ({"job_id": "j" * 65}, "job_id"),
        ({"target_url": "javascript:alert(1)"}, "target_url"),
        ({"target_url": "data:text/html,hi"}, "target_url"),
        ({"target_url": "/relative/path"}, "target_url"),
        ({"target_url": "https://bank.example/a\r\nSet-Cookie: x=1"}, "target_url"),
        ({"target_url": "https://bank.example/a\tb"}, "target_url"),
        ({"target_url": "https://bank.example/a\x00"}, "target_url"),
        ({"target_url": "https:///no-host"}, "target_url"),
    ],
)
def test_link_row_refuses_bad_fields_by_name(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        row("job-1.k", **change)


def test_a_space_in_a_target_is_encoded_not_refused() -> None:
    # A customer's value with a space, in a templated target, must not fail the customer.
    got = row("k", target_url=" https://bank.example/e?branch=강남 지점 ")["target_url"]
    assert got == "https://bank.example/e?branch=강남%20지점"


def test_link_row_refuses_naive_or_past_times() -> None:
    now = utcnow()
    with pytest.raises(ValueError, match=r"^now: "):
        row("k", now=now.replace(tzinfo=None), expires_at=None)
    with pytest.raises(ValueError, match=r"^expires_at: "):
        row("k", now=now, expires_at=now)
    assert row("k", now=now, expires_at=None)["expires_at"] is None


@pytest.mark.parametrize("base", ["https://bnk.kr/", "https://bnk.kr", "https://bnk.kr/s/"])
def test_short_url_joins_base_and_code(base: str) -> None:
    code = row("k")["code"]
    url = short_url(base, code)
    assert url.endswith(f"/{code}") and "//" + code not in url
    assert url.startswith(base.rstrip("/"))


def test_short_url_refuses_a_non_code() -> None:
    with pytest.raises(ValueError, match=r"^code: "):
        short_url("https://bnk.kr/", "../etc")


# -- resolving and clicks ----------------------------------------------------------------


def test_resolve_finds_live_links_only(store: Store) -> None:
    now = utcnow()
    live, lasting = row("k.live", now=now), row("k.lasting", now=now, expires_at=None)
    ending = row("k.ending", now=now - timedelta(days=2), expires_at=now - timedelta(days=1))
    with store.session() as session:
        insert_links(session, [live, lasting, ending])
    with store.reading() as session:
        found = resolve(session, live["code"], now)
        assert found is not None and found.target_url == live["target_url"]
        assert resolve(session, lasting["code"], now + timedelta(days=3650)) is not None
        assert resolve(session, ending["code"], now) is None
        # Expired at the very instant of expiry, live just before it.
        assert resolve(session, live["code"], now + TTL) is None
        assert resolve(session, live["code"], now + TTL - timedelta(seconds=1)) is not None
        assert resolve(session, row("k.never")["code"], now) is None
        assert resolve(session, "../../etc/passwd", now) is None


def test_a_malformed_code_is_not_looked_up(store: Store) -> None:
    with statements(store) as seen, store.reading() as session:
        assert resolve(session, "A" * 1000, utcnow()) is None
    assert not [s for s in seen if "short_links" in s]


@pytest.mark.parametrize(
    ("agent", "stored"),
    [
        ("Mozilla/5.0", "Mozilla/5.0"),
        ("x" * 2000, "x" * 512),
        ("a\x00b\r\nc\td", "abcd"),
        ("", None),
        (None, None),
    ],
)
def test_record_click_keeps_a_bounded_clean_user_agent(
    store: Store, agent: str | None, stored: str | None
) -> None:
    link = row("k")
    now = utcnow()
    with store.session() as session:
        insert_links(session, [link])
        record_click(session, link["code"], agent, now)
    with store.session() as session:
        [click] = session.scalars(select(LinkClick)).all()
    assert (click.code, click.user_agent) == (link["code"], stored)


# -- response data -----------------------------------------------------------------------


def test_responses_join_clicks_to_their_customer_and_message(bank: Any) -> None:
    m1, m2 = sorted(enqueued(bank, "C1", "C2"), key=lambda m: m.customer_id)
    l1, f1, l2 = link_for(m1, 0), link_for(m1, 1, "feedback"), link_for(m2, 0)
    t0 = utcnow()
    with bank.store.session() as session:
        insert_links(session, [l1, f1, l2])
        record_click(session, l1["code"], "UA-one", t0)
        record_click(session, f1["code"], "UA-two", t0 + timedelta(seconds=5))
        record_click(session, l2["code"], "UA-three", t0 + timedelta(seconds=1))
    with bank.store.reading() as session:
        mine = responses(session, customer_id="C1")
        everyone = responses(session, job_id=m1.job_id)
        by_message = responses(session, message_key=m2.idempotency_key)
        none = responses(session, customer_id="C1", job_id="another-job")
    assert [(r.kind, r.position, r.user_agent) for r in mine] == [
        ("link", 0, "UA-one"),
        ("feedback", 1, "UA-two"),
    ]
    for r in mine:
        assert (r.customer_id, r.job_id, r.message_id) == ("C1", m1.job_id, m1.id)
        assert (r.message_key, r.channel, r.message_type, r.leg) == (
            m1.idempotency_key,
            "sms",
            m1.message_type,
            0,
        )
        assert r.clicked_at.tzinfo is not None
    assert mine[0].target_url == l1["target_url"]
    assert abs(mine[0].clicked_at - t0) < timedelta(milliseconds=1)
    # Oldest first across customers.
    assert [r.customer_id for r in everyone] == ["C1", "C2", "C1"]
    assert [(r.message_id, r.user_agent) for r in by_message] == [(m2.id, "UA-three")]
    assert none == []


def test_a_click_whose_message_row_is_gone_still_counts(store: Store) -> None:
    link = row("job-1.nomessage")
    with store.session() as session:
        insert_links(session, [link])
        record_click(session, link["code"], "UA", utcnow())
    with store.reading() as session:
        [r] = responses(session, customer_id="C1")
    assert (r.message_key, r.message_id, r.channel, r.leg) == ("job-1.nomessage", None, None, None)


def test_responses_need_a_filter(store: Store) -> None:
    with store.reading() as session, pytest.raises(ValueError, match="customer_id, job_id or"):
        responses(session)
