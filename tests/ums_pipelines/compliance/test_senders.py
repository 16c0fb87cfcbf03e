"""The sender registry: entries validated and audited, jobs refused a sender they may
not use, the export and the change feed."""

from __future__ import annotations

import csv
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ums_pipelines.audit import verify_chain
from ums_pipelines.compliance.senders import (
    SenderError,
    clean_value,
    deactivate,
    entries,
    register,
    update,
    usable,
)
from ums_pipelines.compliance.senders_export import changes_since, export_registry
from ums_pipelines.jobs import (
    ChannelVariant,
    JobError,
    SendPlan,
    register_job,
    register_sender_number,
    register_template,
)
from ums_pipelines.lanes import Purpose
from ums_pipelines.store import Store
from ums_pipelines.store.engine import utcnow

KEY = "2662e99eb7a1f21abb3955278e9955f5a9a99b62"  # a Kakao sender profile key's shape


@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        ("number", "1588-1234", "15881234"),
        ("number", "02-123-4567", "021234567"),
        ("number", "(031) 1234-5678", "03112345678"),
        ("number", "010-1234-5678", "01012345678"),
        ("rcs_chatbot", "1644 0000", "16440000"),
        ("kakao_profile", KEY.upper(), KEY),
        ("rcs_brand", "BR.ums-bank_01", "BR.ums-bank_01"),
        ("email_domain", "Mail.UMSBank.co.kr.", "mail.umsbank.co.kr"),
        ("email_domain", "유엠에스.한국", "xn--9t4b11dmb87f.xn--3e0b707e"),
    ],
)
def test_values_are_stored_in_one_form(kind: str, raw: str, stored: str) -> None:
    assert clean_value(kind, raw) == stored


@pytest.mark.parametrize(
    ("kind", "raw", "match"),
    [
        ("number", "1234567", r"^sender_number: '1234567' is not a caller number"),
        ("number", "010-1234-56789", r"^sender_number: "),
        ("number", "12345678", r"^sender_number: "),  # 8 digits only as 15xx/16xx/18xx
        ("number", "1588-12a4", r"^sender_number: "),
        ("rcs_chatbot", "abc", r"^chatbot_id: "),
        ("kakao_profile", KEY[:-1], r"^sender_key: .*40 hex"),
        ("kakao_profile", "@umsbank", r"^sender_key: "),
        ("rcs_brand", "ums-bank", r"^brand_id: "),
        ("email_domain", "localhost", r"^domain: "),
        ("email_domain", "-bad.example.com", r"^domain: "),
        ("email_domain", "a b.com", r"^domain: "),
        ("fax", "0212345678", r"^kind: 'fax'"),
    ],
)
def test_bad_values_are_refused_naming_the_field(kind: str, raw: str, match: str) -> None:
    with pytest.raises(SenderError, match=match):
        clean_value(kind, raw)


def test_register_validates_fields_and_refuses_a_second_registration(store: Store) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"label": " "}, r"^label: required"),
        ({"department": "소비자 보호"}, r"^department: "),
        ({"proof_ref": "x" * 129}, r"^proof_ref: 129 characters"),
        ({"valid_from": datetime(2026, 1, 1)}, r"^valid_from: .*time zone"),
        ({"valid_from": t0, "valid_until": t0}, r"^valid_until: .*ends before it begins"),
        ({"detail": {"x": 1}}, r"^detail: a caller number has no detail"),
    ]
    for overrides, match in cases:
        kw: dict[str, Any] = {"label": "고객센터"} | overrides
        with store.session() as session, pytest.raises(SenderError, match=match):
            register(session, "number", "15881234", kw.pop("label"), "t", **kw)
    with store.session() as session:
        register(session, "number", "1588-1234", "고객센터", "t", department="소비자보호부")
    with store.session() as session, pytest.raises(SenderError, match="already registered"):
        register(session, "number", "15881234", "again", "t")


def test_update_and_deactivate_are_audited_with_before_and_after(store: Store) -> None:
    until = datetime(2027, 6, 30, 15, 0, tzinfo=UTC)
    with store.session() as session:
        register(session, "kakao_profile", KEY, "UMS은행", "kim", detail={"search_id": "@ums"})
        update(session, "kakao_profile", KEY, "lee", proof_ref="DOC-1", valid_until=until)
        update(session, "kakao_profile", KEY, "lee", proof_ref="DOC-1")  # no change
        deactivate(session, "kakao_profile", KEY, "park")
        with pytest.raises(SenderError, match=r"^valid_from: .*time zone"):
            update(session, "kakao_profile", KEY, "x", valid_from=datetime(2026, 1, 1))
        with pytest.raises(SenderError, match=r"^sender_key: .* is not registered"):
            update(session, "kakao_profile", "f" * 40, "x", label="y")
    with store.session() as session:
        [entry] = entries(session, "kakao_profile", include_inactive=True)
        assert entries(session, "kakao_profile") == []
        assert (entry.active, entry.revision, entry.proof_ref) == (False, 3, "DOC-1")
        assert entry.valid_until == until
        feed = changes_since(session)
        assert verify_chain(session) == 3
    assert [(c.action, c.actor, c.kind, c.value) for c in feed] == [
        ("sender.registered", "kim", "kakao_profile", KEY),
        ("sender.updated", "lee", "kakao_profile", KEY),
        ("sender.deactivated", "park", "kakao_profile", KEY),
    ]
    assert feed[0].before is None and feed[0].after is not None
    assert feed[0].after["detail"] == {"search_id": "@ums"}
    assert feed[1].before is not None and feed[1].after is not None
    assert (feed[1].before["proof_ref"], feed[1].after["proof_ref"]) == (None, "DOC-1")
    assert feed[1].after["valid_until"] == until.isoformat()
    assert (feed[2].before, feed[2].after) == (feed[1].after, {**feed[1].after, "active": False,
                                                               "revision": 3})  # fmt: skip


# -- jobs refused a sender they may not use -------------------------------------------

NOW = utcnow()
DAY = timedelta(days=1)
JOB_IDS = itertools.count()


def job(store: Store, sender: str, plan: SendPlan | None = None) -> str:
    with store.session() as session:
        register_template(
            session, code="tpl", name="안내", purpose=Purpose.INFORMATIONAL,
            variables=["name"], variants=[ChannelVariant("sms", "{{ name }}님 안내")],
            actor="t",
        )  # fmt: skip
        created, _ = register_job(
            session, job_id=f"job-{next(JOB_IDS)}", name="안내", template_code="tpl",
            routes={"sms": ["sms"]}, sender_number=sender, department="ops", actor="t",
            plan=plan,
        )  # fmt: skip
        return created.sender_number


@pytest.fixture
def registry(store: Store) -> Store:
    with store.session() as session:
        register_sender_number(session, "1588-0001", "만료", "t", valid_until=NOW - DAY)
        register_sender_number(session, "1588-0002", "예정", "t", valid_from=NOW + DAY)
        register_sender_number(session, "1588-0003", "중지", "t")
        deactivate(session, "number", "15880003", "t")
        register_sender_number(
            session, "1588-0004", "고객센터", "t", department="고객지원부",
            proof_ref="통신서비스이용증명원-2026-0412", valid_from=NOW - DAY,
            valid_until=NOW + 30 * DAY,
        )  # fmt: skip
    return store


@pytest.mark.parametrize(
    ("sender", "plan", "match"),
    [
        ("15880001", None, r"^sender_number: 15880001 expired at "),
        ("15880002", None, r"^sender_number: 15880002 is not yet valid: from "),
        ("1588-0003", None, r"^sender_number: 1588-0003 is registered but not active"),
        ("15889999", None, r"^sender_number: 15889999 is not a registered sender number"),
        ("not a number", None, r"^sender_number: not a number is not a registered"),
        # Valid today, but not over the whole window of the job.
        ("15880004", SendPlan(must_end_by=NOW + 31 * DAY), r"before the job's window ends"),
        ("15880004", SendPlan(not_before=NOW - 2 * DAY), None),  # a start in the past is now
    ],
)
def test_job_is_refused_a_sender_it_may_not_use(
    registry: Store, sender: str, plan: SendPlan | None, match: str | None
) -> None:
    if match is None:
        assert job(registry, sender, plan) == "15880004"
        return
    with pytest.raises(JobError, match=match):
        job(registry, sender, plan)


def test_job_with_a_valid_sender_is_registered(registry: Store) -> None:
    assert job(registry, "1588-0004") == "15880004"
    plan = SendPlan(not_before=NOW + DAY, must_end_by=NOW + 2 * DAY)
    assert job(registry, "15880004", plan) == "15880004"


def test_a_sender_not_yet_valid_passes_a_job_starting_after_it(registry: Store) -> None:
    with pytest.raises(JobError, match="not yet valid"):
        job(registry, "15880002", SendPlan(not_before=NOW + DAY / 2))
    assert job(registry, "15880002", SendPlan(not_before=NOW + 2 * DAY)) == "15880002"


def test_usable_checks_other_kinds_too(store: Store) -> None:
    with store.session() as session:
        register(session, "email_domain", "umsbank.co.kr", "메일", "t", valid_until=NOW - DAY)
        with pytest.raises(SenderError, match=r"^domain: umsbank.co.kr expired"):
            usable(session, "email_domain", "umsbank.co.kr")
        with pytest.raises(SenderError, match=r"^brand_id: BR.x is not a registered sender"):
            usable(session, "rcs_brand", "BR.x")


# -- export and change feed -----------------------------------------------------------


def test_export_as_csv_with_bom_and_json(registry: Store, tmp_path: Path) -> None:
    with registry.session() as session:
        register(session, "rcs_brand", "BR.ums-bank", "UMS은행", "t", department="총무부")
        assert export_registry(session, tmp_path / "registry.csv") == 5
        assert export_registry(session, tmp_path / "registry.json") == 5
        with pytest.raises(SenderError, match=r"^path: 'registry.xlsx' must end in"):
            export_registry(session, tmp_path / "registry.xlsx")
    raw = (tmp_path / "registry.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    by_value = {r["value"]: r for r in rows}
    assert [r["kind"] for r in rows] == ["number"] * 4 + ["rcs_brand"]
    assert by_value["15880001"]["status"] == "expired"
    assert by_value["15880002"]["status"] == "not yet valid"
    assert (by_value["15880003"]["status"], by_value["15880003"]["active"]) == ("inactive", "N")
    center = by_value["15880004"]
    assert (center["status"], center["department"]) == ("active", "고객지원부")
    assert center["proof_ref"] == "통신서비스이용증명원-2026-0412"
    assert datetime.fromisoformat(center["valid_until"]) == NOW + 30 * DAY
    data = json.loads((tmp_path / "registry.json").read_text(encoding="utf-8"))
    assert [(d["value"], d["status"]) for d in data] == [(r["value"], r["status"]) for r in rows]


def test_change_feed_polls_by_audit_id(registry: Store) -> None:
    with registry.session() as session:
        feed = changes_since(session)
        # Four registrations and one deactivation, in order.
        assert [(c.action, c.value) for c in feed] == [
            ("sender_number.registered", "15880001"),
            ("sender_number.registered", "15880002"),
            ("sender_number.registered", "15880003"),
            ("sender_number.deactivated", "15880003"),
            ("sender_number.registered", "15880004"),
        ]
        last = feed[-1].id
        assert changes_since(session, last) == []
        update(session, "number", "15880003", "lee", active=True)
    with registry.session() as session:
        [change] = changes_since(session, last)
        assert (change.action, change.actor, change.kind) == (
            "sender_number.updated",
            "lee",
            "number",
        )
        assert change.before is not None and change.after is not None
        assert (change.before["active"], change.after["active"]) == (False, True)
        assert json.loads(json.dumps(change.to_json()))["id"] == change.id
        with pytest.raises(SenderError, match=r"^after_id: -1"):
            changes_since(session, -1)
