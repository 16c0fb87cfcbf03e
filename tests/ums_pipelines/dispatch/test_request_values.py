"""A real-time request's values (a deposit amount) render its message and every fallback
leg; undeclared or missing values are the caller's error at intake."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from ums_pipelines.content.spec import VariableSpec
from ums_pipelines.dispatch.intake import IntakeError, submit
from ums_pipelines.dispatch.record import next_legs
from ums_pipelines.dispatch.standing import standing_job
from ums_pipelines.jobs import ChannelVariant, register_template
from ums_pipelines.lanes import Purpose
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Message

SPECS = [
    VariableSpec.model_validate(s)
    for s in (
        {"name": "name", "kind": "customer", "mask": "name"},
        {"name": "branch", "kind": "customer"},  # required: the AlimTalk leg needs it
        {"name": "amount", "kind": "job", "type": "int"},
        {"name": "account", "kind": "job", "mask": "account"},
    )
]
VARIANTS = [
    ChannelVariant(
        "alimtalk",
        "[UMS은행] {{ branch }} {{ name }}님 {{ account }} 계좌에 {{ amount|won }}원 입금",
        provider_template_code="DEP_01",
    ),
    ChannelVariant("sms", "[UMS은행] {{ name }}님 {{ account }} {{ amount|won }}원 입금"),
]
VALUES = {"amount": 50000, "account": "110-234-567890"}


def deposit(bank: Any, key: str, customer: str, **values: Any) -> Any:
    return submit(
        bank.store,
        bank.settings,
        caller="core",
        caller_key=key,
        customer_id=customer,
        template_code="deposit",
        variables=values,
        chain=["alimtalk", "sms"],
    )


@pytest.fixture
def deposits(bank: Any) -> Any:
    bank.register()  # a sender number and a first template
    with bank.store.session() as session:
        register_template(
            session,
            code="deposit",
            name="입금 알림",
            purpose=Purpose.INFORMATIONAL,
            variables=SPECS,
            variants=VARIANTS,
            actor="test",
        )
    bank.add_customer("C1", phone="01011112222")
    bank.add_customer("C2", phone="01033334444", branch=None)
    return bank


def body(bank: Any, message_id: int) -> Message:
    with bank.store.session() as session:
        message = session.get(Message, message_id)
        assert message is not None
        session.expunge(message)
        return message


def test_the_request_values_render_the_message(deposits: Any) -> None:
    first = deposit(deposits, "d-1", "C1", **VALUES)
    message = body(deposits, first.message_id)
    assert message.body == "[UMS은행] 강남지점 김*수님 110******890 계좌에 50,000원 입금"


def test_a_later_leg_renders_with_the_same_values(deposits: Any) -> None:
    # C2 has no branch: the AlimTalk leg fails to render at intake, the SMS leg goes.
    first = deposit(deposits, "d-2", "C2", **VALUES)
    leg0 = body(deposits, first.message_id)
    assert leg0.state == "failed" and leg0.error_reason is not None
    assert leg0.next_leg_id is not None
    assert body(deposits, leg0.next_leg_id).body == "[UMS은행] 김*수님 110******890 50,000원 입금"

    # A failure receipt on a rendered AlimTalk starts the SMS leg later, the same way.
    second = deposit(deposits, "d-3", "C1", amount=7000, account="333-22-111111")
    with deposits.store.session() as session:
        session.execute(
            update(Message).where(Message.id == second.message_id).values(state="failed")
        )
        (leg1,) = next_legs(session, deposits.settings, [second.message_id], utcnow())
    assert body(deposits, leg1).body == "[UMS은행] 김*수님 333*****111 7,000원 입금"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"amount": 1, "account": "1", "balance": 9}, "variables.balance: the content declares"),
        ({"amount": 1}, "variables.account: the content's variable 'account' needs a value"),
        ({"amount": [1], "account": "1"}, "variables.amount: a text or a number"),
    ],
)
def test_wrong_values_are_refused_at_intake(
    deposits: Any, values: dict[str, Any], reason: str
) -> None:
    with pytest.raises(IntakeError, match=reason):
        deposit(deposits, "d-bad", "C1", **values)


def test_a_new_approved_version_gets_its_own_standing_job(deposits: Any) -> None:
    first = standing_job(deposits.store, "deposit")
    with deposits.store.session() as session:
        register_template(
            session,
            code="deposit",
            name="입금 알림",
            purpose=Purpose.INFORMATIONAL,
            variables=SPECS,
            variants=[VARIANTS[1]],
            actor="test",
        )
    assert standing_job(deposits.store, "deposit") == f"{first}-v2"
