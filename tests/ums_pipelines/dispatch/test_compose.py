"""compose and idempotency_key: pure functions over transient ORM objects."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime

import pytest

from ums_pipelines.channels.payload import CHANNELS
from ums_pipelines.dispatch.compose import PROVIDERS, compose, idempotency_key
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Lane, message_priority
from ums_pipelines.store.models import Customer, Job

NOW = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)


def job(job_id: str = "job-1", priority: Lane = Lane.INFORMATIONAL) -> Job:
    return Job(
        job_id=job_id,
        name="거래 안내",
        template_id=1,
        template_version=1,
        purpose="informational",
        priority=int(priority),
        routes={},
        sender_number="15881234",
        department="dept",
        status="targeted",
        created_at=NOW,
        updated_at=NOW,
    )


def customer(**fields: object) -> Customer:
    values: dict[str, object] = {
        "customer_id": "C1",
        "name": "김민수",
        "phone": "01012345678",
        "email": "kim@example.com",
        "push_token": "tok-1",
        "branch": "강남지점",
    }
    return Customer(**(values | fields))


SMS = ChannelVariant("sms", "{{ name }}님 안내")
ALIM = ChannelVariant("alimtalk", "{{ name }}님 {{ today }}", provider_template_code="T-01")
PUSH = ChannelVariant("push", "{{ name }}님", "제목 {{ branch }}")
MAIL = ChannelVariant("email", "{{ name }}님 본문", "메일 {{ name }}", "<p>{{ name }}</p>")


# -- idempotency keys -------------------------------------------------------------------


def test_idempotency_key_is_deterministic() -> None:
    assert idempotency_key("job-1", "C1", 0) == idempotency_key("job-1", "C1", 0)


def test_idempotency_key_is_distinct_per_job_customer_and_leg() -> None:
    combos = list(itertools.product(["job-1", "job-2", "job-10"], ["C1", "C2", "C10"], range(3)))
    keys = {idempotency_key(*combo) for combo in combos}
    assert len(keys) == len(combos)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Naive concatenation would make these collide.
        (("job-1", "1C", 0), ("job-11", "C", 0)),
        (("job", "C1", 10), ("job", "C11", 0)),
    ],
)
def test_idempotency_key_has_no_concatenation_collisions(
    a: tuple[str, str, int], b: tuple[str, str, int]
) -> None:
    assert idempotency_key(*a) != idempotency_key(*b)


def test_idempotency_key_starts_with_job_id_and_fits_the_column() -> None:
    long_job = "j" * 64  # the longest job id register_job accepts
    key = idempotency_key(long_job, "C" * 32, 9)
    assert key.startswith(long_job + ".")
    assert len(key) <= 96  # Message.idempotency_key is String(96)


def test_idempotency_key_is_pinned() -> None:
    # Stable across releases: a changed formula would re-send a restarted job.
    assert idempotency_key("demo-welcome", "C0000001", 0) == (
        "demo-welcome." + hashlib.sha256(b"demo-welcome|C0000001|0").hexdigest()[:24]
    )


# -- compose ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "message_type", "recipient"),
    [
        (SMS, "SMS", "01012345678"),
        (ALIM, "ALIMTALK", "01012345678"),
        (PUSH, "FCM", "tok-1"),
        (MAIL, "EMAIL", "kim@example.com"),
    ],
)
def test_compose_each_channel(variant: ChannelVariant, message_type: str, recipient: str) -> None:
    chain = [variant.channel, "sms"]
    composed = compose(job(), variant, customer(), chain, 0, NOW, "2024-05-01")
    m = composed.message
    assert composed.error is None
    assert (m.channel, m.message_type, m.recipient) == (variant.channel, message_type, recipient)
    assert m.provider == PROVIDERS[variant.channel]
    assert m.state == "queued" and m.completed_at is None and m.error_code is None
    assert m.idempotency_key == idempotency_key("job-1", "C1", 0)
    assert (m.leg, m.chain, m.parent_id) == (0, chain, None)
    assert m.priority == message_priority(Lane.INFORMATIONAL, variant.channel)
    assert m.sender == "15881234"
    assert m.body.startswith("김민수님")
    assert m.provider_template_code == variant.provider_template_code


def test_compose_renders_subject_html_and_today() -> None:
    m = compose(job(), MAIL, customer(), ["email"], 0, NOW, "2024-05-01").message
    assert (m.subject, m.html_body) == ("메일 김민수", "<p>김민수</p>")
    m = compose(job(), ALIM, customer(), ["alimtalk"], 0, NOW, "2024-05-01").message
    assert m.body == "김민수님 2024-05-01"


def test_compose_missing_name_falls_back_to_default() -> None:
    m = compose(job(), SMS, customer(name=None), ["sms"], 0, NOW, "d").message
    assert m.body == "고객님 안내"


def test_compose_leg_and_parent() -> None:
    chain = ["alimtalk", "sms"]
    m = compose(job(), SMS, customer(), chain, 1, NOW, "d", parent_id=42).message
    assert (m.channel, m.leg, m.parent_id) == ("sms", 1, 42)
    assert m.idempotency_key == idempotency_key("job-1", "C1", 1)
    assert m.idempotency_key != idempotency_key("job-1", "C1", 0)


def test_compose_chain_is_copied() -> None:
    chain = ["sms"]
    m = compose(job(), SMS, customer(), chain, 0, NOW, "d").message
    chain.append("email")
    assert m.chain == ["sms"]


@pytest.mark.parametrize(
    ("body", "subject", "expected"),
    [
        ("가" * 45, None, "SMS"),
        ("가" * 46, None, "LMS"),
        ("짧다", "제목", "LMS"),
    ],
)
def test_compose_sms_is_promoted_to_lms_by_bytes(
    body: str, subject: str | None, expected: str
) -> None:
    variant = ChannelVariant("sms", body, subject)
    m = compose(job(), variant, customer(), ["sms"], 0, NOW, "d").message
    assert m.message_type == expected


def test_compose_lms_promotion_counts_rendered_text() -> None:
    # The template is short, the rendered text is not: the rule applies after rendering.
    variant = ChannelVariant("sms", "{{ name }}")
    assert (
        compose(job(), variant, customer(name="가" * 45), ["sms"], 0, NOW, "d").message.message_type
        == "SMS"
    )
    assert (
        compose(job(), variant, customer(name="가" * 46), ["sms"], 0, NOW, "d").message.message_type
        == "LMS"
    )


@pytest.mark.parametrize(
    ("variant", "fragment"),
    [
        (ChannelVariant("sms", "{{ name }} 😀"), "CP949"),
        (ChannelVariant("sms", "가" * 1001), "2000"),
        (ChannelVariant("sms", "x", "가" * 21), "subject"),
        (ChannelVariant("sms", "{{ balance }}"), "balance"),
        (ChannelVariant("sms", "{{ name.__class__ }}"), "unsafe"),
    ],
)
def test_compose_failure_becomes_a_failed_row_not_an_exception(
    variant: ChannelVariant, fragment: str
) -> None:
    composed = compose(job(), variant, customer(), ["sms", "email"], 0, NOW, "d")
    m = composed.message
    assert composed.error is not None and fragment in composed.error
    assert m.state == "failed" and m.error_code == "E-RENDER"
    assert m.error_reason == composed.error
    assert m.completed_at == NOW
    # Still keyed and chained, so fall_back can take the next leg.
    assert m.idempotency_key == idempotency_key("job-1", "C1", 0) and m.chain == ["sms", "email"]


def test_compose_emoji_is_fine_where_the_channel_is_not_cp949() -> None:
    variant = ChannelVariant("push", "{{ name }} 😀")
    composed = compose(job(), variant, customer(), ["push"], 0, NOW, "d")
    assert composed.error is None and composed.message.body == "김민수 😀"


def test_compose_without_contact_has_empty_recipient() -> None:
    m = compose(job(), PUSH, customer(push_token=None), ["push"], 0, NOW, "d").message
    assert m.recipient == ""


def test_providers_cover_every_channel() -> None:
    assert set(PROVIDERS) == set(CHANNELS)
    # One provider per channel, except Kakao's one gateway for its three products.
    kakao = {c for c, p in PROVIDERS.items() if p == "sim-kakao"}
    assert kakao == {"alimtalk", "friendtalk", "brand"}
    others = [p for c, p in PROVIDERS.items() if c not in kakao]
    assert len(set(others)) == len(others)
