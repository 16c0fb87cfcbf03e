"""The outbox on both backends: enqueue once, claim with leases, record outcomes, fall back."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from ums_pipelines.content.spec import VariableKind, VariableSpec
from ums_pipelines.dispatch.compose import idempotency_key
from ums_pipelines.dispatch.outbox import (
    MAX_ATTEMPTS,
    SendOutcome,
    claim,
    enqueue_job,
    fall_back,
    record_outcomes,
    release_stale,
)
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Lane
from ums_pipelines.store import Store, as_utc, utcnow
from ums_pipelines.store.models import DeliveryEvent, Job, Message

LEASE = timedelta(minutes=5)
SMS_ONLY = {"default": ["sms"]}


def enqueued(bank: Any, n: int = 6, routes: Any = None, **kw: Any) -> str:
    for i in range(n):
        bank.add_customer(f"C{i:03d}", preferred="sms", phone=f"010{30000000 + i}")
    job_id = bank.targeted(routes=routes or SMS_ONLY, **kw)
    enqueue_job(bank.store, bank.settings, job_id)
    return str(job_id)


def claim_ids(store: Store, owner: str, limit: int = 100, **kw: Any) -> list[int]:
    kw.setdefault("lease", LEASE)
    with store.session() as session:
        return [c.id for c in claim(session, kw.pop("channel", "sms"), owner, limit, **kw)]


def record(bank: Any, owner: str, *outcomes: SendOutcome) -> None:
    with bank.store.session() as session:
        record_outcomes(session, bank.settings, owner, outcomes)


def get(store: Store, message_id: int) -> Message:
    with store.session() as session:
        m = session.get(Message, message_id)
        assert m is not None
        return m


def events(store: Store, message_id: int | None = None) -> list[tuple[int, str, str]]:
    query = select(DeliveryEvent.message_id, DeliveryEvent.stage, DeliveryEvent.status)
    if message_id is not None:
        query = query.where(DeliveryEvent.message_id == message_id)
    with store.session() as session:
        return [tuple(row) for row in session.execute(query.order_by(DeliveryEvent.id))]  # type: ignore[misc]


# -- enqueue ----------------------------------------------------------------------------


def test_enqueue_writes_one_leg_zero_row_per_target(bank: Any) -> None:
    for i in range(4):
        bank.add_customer(f"C{i}", preferred="sms")
    job_id = bank.targeted(routes={"default": ["sms", "email"]})
    result = enqueue_job(bank.store, bank.settings, job_id)
    assert (result.created, result.already_queued, result.render_failed) == (4, 0, 0)
    rows = bank.messages(job_id)
    assert sorted(m.customer_id for m in rows) == ["C0", "C1", "C2", "C3"]
    for m in rows:
        assert (m.leg, m.state, m.channel, m.attempts) == (0, "queued", "sms", 0)
        assert m.idempotency_key == idempotency_key(job_id, m.customer_id, 0)
        assert m.chain == ["sms"]  # no e-mail address: the e-mail leg is not reachable
    with bank.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "dispatching"


def test_enqueue_twice_creates_no_new_rows(bank: Any) -> None:
    job_id = enqueued(bank, 5)
    before = [(m.id, m.idempotency_key, m.updated_at) for m in bank.messages(job_id)]
    again = enqueue_job(bank.store, bank.settings, job_id)
    assert (again.created, again.already_queued) == (0, 5)
    assert [(m.id, m.idempotency_key, m.updated_at) for m in bank.messages(job_id)] == before


def test_enqueue_resumes_after_a_partial_run(bank: Any) -> None:
    """A crash after the first chunk: the rerun writes only the missing rows."""
    job_id = enqueued(bank, 5)
    with bank.store.session() as session:
        doomed = session.scalars(
            select(Message).where(Message.job_id == job_id).order_by(Message.id).offset(2)
        ).all()
        for m in doomed:
            session.delete(m)
    result = enqueue_job(bank.store, bank.settings, job_id, chunk=2)
    assert (result.created, result.already_queued) == (3, 2)
    keys = [m.idempotency_key for m in bank.messages(job_id)]
    assert len(keys) == len(set(keys)) == 5


def test_enqueue_in_small_chunks_is_the_same(bank: Any) -> None:
    for i in range(7):
        bank.add_customer(f"C{i}")
    job_id = bank.targeted(routes=SMS_ONLY)
    result = enqueue_job(bank.store, bank.settings, job_id, chunk=3)
    assert result.created == 7
    assert len({m.customer_id for m in bank.messages(job_id)}) == 7


def test_render_failure_on_leg_zero_is_a_failed_row_with_a_next_leg(bank: Any) -> None:
    bank.add_customer("ok", name="김민수", push_token="tok")
    bank.add_customer("emoji", name="김😀", push_token="tok")
    job_id = bank.targeted(routes={"default": ["sms", "push"]})
    result = enqueue_job(bank.store, bank.settings, job_id)
    assert (result.created, result.render_failed) == (2, 1)
    rows = {(m.customer_id, m.leg): m for m in bank.messages(job_id)}
    assert set(rows) == {("ok", 0), ("emoji", 0), ("emoji", 1)}
    failed, leg1 = rows[("emoji", 0)], rows[("emoji", 1)]
    assert (failed.state, failed.error_code) == ("failed", "E-RENDER")
    assert "CP949" in (failed.error_reason or "")
    assert failed.next_leg_id == leg1.id and leg1.parent_id == failed.id
    assert (leg1.channel, leg1.state, leg1.body) == ("push", "queued", "김😀님 업무 처리 완료")
    # The failed row is never claimable.
    assert claim_ids(bank.store, "a", job_id=job_id) == [rows[("ok", 0)].id]


# -- claim ------------------------------------------------------------------------------


def test_two_claimers_never_get_the_same_message(bank: Any) -> None:
    job_id = enqueued(bank, 6)
    a = claim_ids(bank.store, "a", 4, job_id=job_id)
    b = claim_ids(bank.store, "b", 4, job_id=job_id)
    assert len(a) == 4 and len(b) == 2
    assert not set(a) & set(b)
    assert claim_ids(bank.store, "c", job_id=job_id) == []
    m = get(bank.store, a[0])
    assert (m.state, m.lease_owner, m.attempts) == ("claimed", "a", 1)
    assert m.lease_expires_at is not None and as_utc(m.lease_expires_at) > utcnow()


def test_claim_snapshot_carries_what_a_sender_needs(bank: Any) -> None:
    job_id = enqueued(bank, 1)
    with bank.store.session() as session:
        [c] = claim(session, "sms", "a", 10, LEASE, job_id)
    m = get(bank.store, c.id)
    assert (c.idempotency_key, c.recipient, c.body, c.message_type, c.sender, c.attempts) == (
        m.idempotency_key,
        m.recipient,
        m.body,
        "SMS",
        "15881234",
        1,
    )


def test_claim_is_per_channel(bank: Any) -> None:
    job_id = enqueued(bank, 2)
    assert claim_ids(bank.store, "a", channel="email", job_id=job_id) == []
    assert len(claim_ids(bank.store, "a", channel="sms", job_id=job_id)) == 2


def test_live_lease_is_not_reclaimable_but_a_released_one_is(bank: Any) -> None:
    job_id = enqueued(bank, 3)
    first = claim_ids(bank.store, "dead", job_id=job_id)
    assert claim_ids(bank.store, "b", job_id=job_id) == []
    with bank.store.session() as session:
        assert release_stale(session, job_id) == 3
    second = claim_ids(bank.store, "b", job_id=job_id)
    assert sorted(second) == sorted(first)
    m = get(bank.store, first[0])
    assert (m.lease_owner, m.attempts) == ("b", 2)


def test_expired_lease_is_reclaimable(bank: Any) -> None:
    job_id = enqueued(bank, 2)
    first = claim_ids(bank.store, "dead", job_id=job_id, lease=timedelta(seconds=-1))
    assert sorted(claim_ids(bank.store, "b", job_id=job_id)) == sorted(first)


def test_stale_owner_cannot_record_after_reclaim(bank: Any) -> None:
    job_id = enqueued(bank, 1)
    [mid] = claim_ids(bank.store, "dead", job_id=job_id, lease=timedelta(seconds=-1))
    assert claim_ids(bank.store, "b", job_id=job_id) == [mid]
    record(bank, "dead", SendOutcome(mid, "rejected", code="E-X", fall_back=True))
    m = get(bank.store, mid)
    assert (m.state, m.lease_owner) == ("claimed", "b")
    assert events(bank.store) == []
    record(bank, "b", SendOutcome(mid, "accepted", provider_message_id="P1"))
    assert get(bank.store, mid).state == "accepted"


def test_release_stale_touches_only_claimed_rows_of_the_job(bank: Any) -> None:
    job_id = enqueued(bank, 3)
    [one] = claim_ids(bank.store, "a", 1, job_id=job_id)
    with bank.store.session() as session:
        assert release_stale(session, job_id) == 1
        assert release_stale(session, "other-job") == 0
    assert get(bank.store, one).state == "claimed"  # still claimed; only the lease moved


def test_claim_respects_limit_and_not_before(bank: Any) -> None:
    job_id = enqueued(bank, 4)
    with bank.store.session() as session:
        session.execute(
            update(Message)
            .where(Message.customer_id.in_(["C000", "C001"]))
            .values(not_before=utcnow() + timedelta(hours=1))
        )
    got = claim_ids(bank.store, "a", 1, job_id=job_id)
    assert len(got) == 1
    got += claim_ids(bank.store, "a", 10, job_id=job_id)
    assert sorted(get(bank.store, i).customer_id for i in got) == ["C002", "C003"]


def test_higher_lane_is_claimed_first(bank: Any) -> None:
    bank.add_customer("C1")
    marketing = bank.targeted("mkt", routes=SMS_ONLY, lane=Lane.MARKETING)
    enqueue_job(bank.store, bank.settings, marketing)
    urgent = bank.targeted("urgent", routes=SMS_ONLY, lane=Lane.URGENT)
    enqueue_job(bank.store, bank.settings, urgent)
    [first] = claim_ids(bank.store, "a", 1)
    [second] = claim_ids(bank.store, "a", 1)
    assert (get(bank.store, first).job_id, get(bank.store, second).job_id) == ("urgent", "mkt")


def test_concurrent_claimers_in_threads_get_disjoint_sets(bank: Any, store_url: str) -> None:
    """Each thread has its own Store (engine), as separate sender processes would."""
    job_id = enqueued(bank, 40)
    start = threading.Barrier(4)
    got: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def sender(owner: str) -> None:
        store = Store(store_url)
        mine: list[int] = []
        try:
            start.wait()
            while batch := claim_ids(store, owner, 3, job_id=job_id):
                mine.extend(batch)
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.dispose()
            got[owner] = mine

    threads = [threading.Thread(target=sender, args=(f"s{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    every = [i for ids in got.values() for i in ids]
    assert len(every) == len(set(every)) == 40
    owners = {get(bank.store, i).lease_owner for i in every}
    assert owners <= set(got)
    for owner, ids in got.items():
        for i in ids:
            assert get(bank.store, i).lease_owner == owner


# -- record_outcomes --------------------------------------------------------------------


def test_accepted_outcome(bank: Any) -> None:
    job_id = enqueued(bank, 1)
    [mid] = claim_ids(bank.store, "a", job_id=job_id)
    record(bank, "a", SendOutcome(mid, "accepted", provider_message_id="P-1"))
    m = get(bank.store, mid)
    assert (m.state, m.provider_message_id, m.lease_owner, m.lease_expires_at) == (
        "accepted",
        "P-1",
        None,
        None,
    )
    assert m.submitted_at is not None and m.completed_at is None
    # Acceptance lives on the row (submitted_at): no event row per message on the bulk path.
    assert events(bank.store, mid) == []


def test_recording_twice_writes_one_event(bank: Any) -> None:
    job_id = enqueued(bank, 1)
    [mid] = claim_ids(bank.store, "a", job_id=job_id)
    outcome = SendOutcome(mid, "accepted", provider_message_id="P-1")
    record(bank, "a", outcome)
    first = get(bank.store, mid).submitted_at
    record(bank, "a", outcome)
    # The second write finds no lease of "a" and changes nothing.
    assert get(bank.store, mid).submitted_at == first
    assert events(bank.store, mid) == []


def test_retry_outcome_requeues_with_backoff(bank: Any) -> None:
    job_id = enqueued(bank, 2)
    a, b = claim_ids(bank.store, "a", job_id=job_id)
    recorded_at = utcnow()
    record(
        bank,
        "a",
        SendOutcome(a, "retry", code="HTTP-429", reason="busy", retry_after=30),
        SendOutcome(b, "retry", code="HTTP-503", reason="busy"),
    )
    for mid in (a, b):
        m = get(bank.store, mid)
        assert (m.state, m.lease_owner, m.completed_at) == ("queued", None, None)
        assert m.not_before is not None and as_utc(m.not_before) > recorded_at
        assert events(bank.store, mid) == [(mid, "relay", "retry")]
    assert get(bank.store, a).error_code == "HTTP-429"
    # a waits out its Retry-After; b's delay is a full-jitter draw below 0.5 s, which a
    # loaded machine may already have passed, so only a is sure to be unclaimable now.
    a_until = get(bank.store, a).not_before
    assert a_until is not None and as_utc(a_until) >= recorded_at + timedelta(seconds=30)
    early = claim_ids(bank.store, "a", job_id=job_id)
    assert a not in early
    # Once the back-off has passed it is claimed again, with the same idempotency key.
    with bank.store.session() as session:
        session.execute(update(Message).values(not_before=utcnow() - timedelta(seconds=1)))
    assert sorted(early + claim_ids(bank.store, "a", job_id=job_id)) == sorted([a, b])
    assert get(bank.store, a).attempts == 2


def test_retries_are_bounded(bank: Any) -> None:
    job_id = enqueued(bank, 1)
    [mid] = claim_ids(bank.store, "a", job_id=job_id)
    with bank.store.session() as session:
        session.execute(update(Message).where(Message.id == mid).values(attempts=MAX_ATTEMPTS))
    record(bank, "a", SendOutcome(mid, "retry", code="HTTP-503"))
    m = get(bank.store, mid)
    # Out of attempts, but an earlier attempt may have reached the provider: not failed
    # (nor fallen back) until a status query says the provider never had it.
    assert (m.state, m.error_code) == ("accepted", "E-UNCONFIRMED")
    assert m.submitted_at is None and m.error_reason and "HTTP-503" in m.error_reason
    assert events(bank.store, mid) == [(mid, "relay", "unconfirmed")]


@pytest.mark.parametrize("fall_back_flag", [True, False])
def test_rejected_outcome_falls_back_unless_told_not_to(bank: Any, fall_back_flag: bool) -> None:
    bank.add_customer("C1", email="kim@example.com")
    job_id = bank.targeted(routes={"default": ["sms", "email"]})
    enqueue_job(bank.store, bank.settings, job_id)
    [mid] = claim_ids(bank.store, "a", job_id=job_id)
    record(bank, "a", SendOutcome(mid, "rejected", code="E-SENDER", fall_back=fall_back_flag))
    m = get(bank.store, mid)
    assert (m.state, m.error_code) == ("failed", "E-SENDER")
    rows = bank.messages(job_id)
    if fall_back_flag:
        assert len(rows) == 2
        leg1 = rows[1]
        assert (leg1.leg, leg1.channel, leg1.state, leg1.parent_id) == (1, "email", "queued", mid)
        assert m.next_leg_id == leg1.id
        assert leg1.idempotency_key == idempotency_key(job_id, "C1", 1)
        assert leg1.recipient == "kim@example.com"
    else:
        assert len(rows) == 1 and m.next_leg_id is None


def test_outcomes_for_unclaimed_rows_are_ignored(bank: Any) -> None:
    job_id = enqueued(bank, 1)
    [m] = bank.messages(job_id)
    record(bank, "a", SendOutcome(m.id, "accepted"))
    assert get(bank.store, m.id).state == "queued"
    assert events(bank.store) == []
    record(bank, "a")  # nothing to record is fine


# -- fall_back --------------------------------------------------------------------------


def test_fall_back_is_idempotent_and_stops_at_the_end_of_the_chain(bank: Any) -> None:
    bank.add_customer("C1", email="kim@example.com")
    job_id = bank.targeted(routes={"default": ["sms", "email"]})
    enqueue_job(bank.store, bank.settings, job_id)
    with bank.store.session() as session:
        leg0 = session.scalars(select(Message)).one()
        leg1 = fall_back(session, bank.settings, leg0)
        assert leg1 is not None
        assert fall_back(session, bank.settings, leg0) is None
        assert fall_back(session, bank.settings, leg1) is None  # last leg
    with bank.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2


def test_render_failure_on_a_middle_leg_does_not_break_the_chain(bank: Any) -> None:
    """push -> sms -> email with a name SMS cannot carry: the sms leg fails at render,
    and the e-mail leg must still be created, or the customer is silently lost."""
    bank.add_customer("C1", name="김😀", push_token="tok", email="kim@example.com")
    job_id = bank.targeted(routes={"default": ["push", "sms", "email"]})
    enqueue_job(bank.store, bank.settings, job_id)
    [mid] = claim_ids(bank.store, "a", channel="push", job_id=job_id)
    record(bank, "a", SendOutcome(mid, "rejected", code="UNREGISTERED"))
    legs = {m.leg: m for m in bank.messages(job_id)}
    assert sorted(legs) == [0, 1, 2]
    assert (legs[1].channel, legs[1].state, legs[1].error_code) == ("sms", "failed", "E-RENDER")
    assert legs[1].next_leg_id == legs[2].id
    assert (legs[2].channel, legs[2].state, legs[2].parent_id) == ("email", "queued", legs[1].id)


def test_render_failures_on_every_leg_end_failed_without_loss(bank: Any) -> None:
    variants = [
        ChannelVariant("sms", "{{ name }}"),
        ChannelVariant("alimtalk", "{{ branch }} 안내", provider_template_code="T"),
    ]
    # The SMS cannot encode the emoji; the AlimTalk needs a branch this customer lacks.
    bank.add_customer("C1", name="김😀", branch=None)
    branch = VariableSpec(name="branch", kind=VariableKind.CUSTOMER)
    job_id = bank.targeted(
        routes={"default": ["sms", "alimtalk"]}, variants=variants, variables=["name", branch]
    )
    result = enqueue_job(bank.store, bank.settings, job_id)
    assert result.render_failed == 1
    states = Counter((m.leg, m.state) for m in bank.messages(job_id))
    assert states == {(0, "failed"): 1, (1, "failed"): 1}
