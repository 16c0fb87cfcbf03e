"""PUSH → AlimTalk → LMS with failures at every leg: one delivered leg per recipient at
most, nothing sent after a delivery, and the bill counts delivered legs only."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import Any

from ums_pipelines.billing import DEFAULT_PRICES_KRW, bill
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import TERMINAL_STATES
from ums_pipelines.store.models import Message

CHAIN = ["push", "alimtalk", "sms"]
VARIANTS = (
    ChannelVariant("push", "{{ name }}님 카드 결제 안내", "결제 안내"),
    ChannelVariant(
        "alimtalk",
        "[UMS은행] {{ name }}님, 카드 결제가 승인되었습니다.",
        provider_template_code="T1",
    ),
    # Over 90 bytes in EUC-KR: the last leg goes out as an LMS.
    ChannelVariant(
        "sms",
        "[UMS은행] {{ name }}님, 카드 결제가 승인되었습니다. 본인 결제가 아니면 고객센터로"
        " 즉시 연락해 주십시오. 항상 UMS은행을 이용해 주셔서 감사합니다.",
    ),
)


def test_push_alimtalk_lms_delivers_one_leg_and_bills_only_delivered(
    sim_bank: Any, ledger_rows: Any, ledger_summary: Any
) -> None:
    bank = sim_bank
    for i in range(90):
        # Every third push token is unregistered: those fail at the first leg at once.
        token = f"invalid-{i}" if i % 3 == 0 else f"token-{i}"
        bank.add_customer(
            f"P{i:04d}", preferred="push", phone=f"010{30000000 + i:08d}", push_token=token
        )
    job_id = bank.targeted(routes={"push": CHAIN}, variants=VARIANTS, template_code="card")
    result = asyncio.run(Dispatcher(bank.store, bank.settings, tick=0.05).run_job(job_id, 120))
    assert result.terminal

    messages: list[Message] = bank.messages(job_id)
    assert all(m.state in TERMINAL_STATES for m in messages)
    chains: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        chains[m.customer_id].append(m)
    assert len(chains) == 90
    legs_used = Counter()
    for customer, chain in chains.items():
        chain.sort(key=lambda m: m.leg)
        delivered = [m for m in chain if m.state == "delivered"]
        assert len(delivered) <= 1, customer
        if delivered:
            assert delivered[0] is chain[-1], customer
        else:
            assert chain[-1].leg == len(CHAIN) - 1, customer  # the chain was exhausted
        assert all(m.state == "failed" for m in chain[:-1]), customer
        legs_used[len(chain)] += 1
    # Failures were injected at every leg: some customers needed each of the three.
    assert set(legs_used) == {1, 2, 3}
    types = {m.message_type for m in messages if m.channel == "sms"}
    assert types == {"LMS"}

    # The provider's books: each recipient delivered at most once, by key and by person.
    rows = ledger_rows(f"{job_id}.")
    by_key = {m.idempotency_key: m for m in messages}
    delivered_to = Counter(
        by_key[r["clientKey"]].customer_id for r in rows if r["outcome"] == "delivered"
    )
    assert delivered_to and max(delivered_to.values()) == 1
    assert len({r["clientKey"] for r in rows}) == len(rows)

    charge = bill(bank.store, job_id)
    ledger = ledger_summary(f"{job_id}.")
    expected = {
        "FCM": ledger["push"]["delivered"],
        "ALIMTALK": ledger["alimtalk"]["delivered"],
        "LMS": ledger["sms"]["delivered"],
    }
    assert {t: line.delivered for t, line in charge.lines.items()} == {
        t: n for t, n in expected.items() if n
    }
    assert charge.billable == sum(delivered_to.values())
    assert charge.not_billed == sum(m.state != "delivered" for m in messages) > 0
    assert charge.total == sum(DEFAULT_PRICES_KRW[t] * n for t, n in expected.items())
