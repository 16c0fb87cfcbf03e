"""Test sends: a job's content to staff from the directory only, marked, never a customer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ums_pipelines.compliance.access import AccessDenied
from ums_pipelines.dispatch.agent import EXPRESS_LANES, Agent
from ums_pipelines.settings import Settings
from ums_pipelines.staffdir import StaffDirectoryError, load_staff
from ums_pipelines.store.models import AuditLog, Job, Message
from ums_pipelines.testsends import (
    TEST_STATUS,
    TestSendError,
    companion_job_id,
    load_groups,
    save_group,
    send_test,
)

DIRECTORY = """\
staff:
  - {staff_id: S1, name: 홍길동, department: 디지털마케팅, phone: 010-9000-0001,
     email: s1@bank.example}
  - {staff_id: S2, name: 김테스트, department: 디지털마케팅, push_token: staff-token-2}
  - {staff_id: S3, name: 이직원, department: 카드, phone: 010-9000-0003}
"""
AUTHOR = "kim-author"


@pytest.fixture
def staff_settings(bank: Any, tmp_path: Path, grant: Callable[..., None]) -> Settings:
    path = tmp_path / "staff.yaml"
    path.write_text(DIRECTORY, encoding="utf-8")
    grant(AUTHOR, "author", department="test-dept")
    return Settings(
        home=bank.settings.home, database_url=bank.settings.database_url, staff_directory=path
    )


def all_messages(bank: Any) -> list[Message]:
    with bank.store.session() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def test_a_test_send_reaches_only_staff_and_is_marked(bank: Any, staff_settings: Settings) -> None:
    bank.add_customer("C1", email="c1@example.com", push_token="customer-token")
    job_id = bank.register()

    result = send_test(bank.store, staff_settings, job_id, ["S1", "S2"], AUTHOR)

    messages = all_messages(bank)
    assert messages and result.job_id == companion_job_id(job_id) == f"{job_id}~test"
    assert {m.job_id for m in messages} == {result.job_id}
    assert {m.customer_id for m in messages} == {"staff:S1", "staff:S2"}
    staff_contacts = {"01090000001", "s1@bank.example", "staff-token-2"}
    assert {m.recipient for m in messages} <= staff_contacts
    # S1 gets every channel of the job's routes it has a contact for; S2 only push.
    by_staff = {
        s: sorted(m.channel for m in messages if m.customer_id == f"staff:{s}")
        for s in ("S1", "S2")
    }
    assert by_staff == {"S1": ["alimtalk", "email", "sms"], "S2": ["push"]}
    assert all(m.chain == [m.channel] and m.send_round == 1 for m in messages)
    assert all(m.state == "queued" and m.body for m in messages)
    assert "홍길동" in next(
        m.body for m in messages if m.recipient == "01090000001" and m.channel == "sms"
    )
    with bank.store.session() as session:
        test_job = session.get(Job, result.job_id)
        assert test_job is not None and test_job.status == TEST_STATUS
        original = session.get(Job, job_id)
        assert original is not None and original.status != TEST_STATUS
        [entry] = session.scalars(select(AuditLog).where(AuditLog.action == "job.test_sent"))
        assert (entry.actor, entry.entity_id) == (AUTHOR, job_id)
        assert entry.detail["staff"] == ["S1", "S2"]
    # The send agents' urgent lane takes them: the real send path.
    claimed = Agent(bank.store, staff_settings)._claim("sms", EXPRESS_LANES, 10)
    assert [c.id for c in claimed] == [m.id for m in messages if m.channel == "sms"]

    again = send_test(bank.store, staff_settings, job_id, ["S2"], AUTHOR)
    assert again.round == 2 and len(all_messages(bank)) == len(messages) + 1


def test_a_staff_contact_that_is_a_customers_is_refused(
    bank: Any, staff_settings: Settings
) -> None:
    bank.add_customer("C1", phone="01090000003")
    job_id = bank.register()

    with pytest.raises(TestSendError, match=r"staff S3: .*customer"):
        send_test(bank.store, staff_settings, job_id, ["S1", "S3"], AUTHOR)

    assert all_messages(bank) == []
    with bank.store.session() as session:
        assert session.get(Job, companion_job_id(job_id)) is None


def test_recipients_come_only_from_the_directory(bank: Any, staff_settings: Settings) -> None:
    job_id = bank.register()
    with pytest.raises(TestSendError, match="not in the staff directory: C1"):
        send_test(bank.store, staff_settings, job_id, ["S1", "C1"], AUTHOR)
    with pytest.raises(TestSendError, match="UMS_STAFF_DIRECTORY: not set"):
        send_test(bank.store, bank.settings, job_id, ["S1"], AUTHOR)
    assert all_messages(bank) == []


def test_an_actor_without_the_author_role_sends_nothing(
    bank: Any, staff_settings: Settings
) -> None:
    job_id = bank.register()
    with pytest.raises(AccessDenied):
        send_test(bank.store, staff_settings, job_id, ["S1"], "someone-else")
    assert all_messages(bank) == []


def test_a_bad_directory_entry_is_named_with_its_field(tmp_path: Path) -> None:
    path = tmp_path / "staff.csv"
    path.write_text(
        "staff_id,name,department,phone,email,push_token\n"
        "S1,홍길동,마케팅,010-9000-0001,,\n"
        "S2,김직원,마케팅,02-123,,\n",
        encoding="utf-8",
    )
    settings = Settings(home=tmp_path, staff_directory=path)
    with pytest.raises(StaffDirectoryError, match="entry 2: phone") as caught:
        load_staff(settings)
    assert "02-123" not in str(caught.value)
    path.write_text("staff_id,name,department\nS1,홍길동,마케팅\n", encoding="utf-8")
    with pytest.raises(StaffDirectoryError, match="entry 1: no phone, email or push_token"):
        load_staff(settings)


def test_test_groups_are_saved_with_the_job(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert load_groups(settings, "job/1") == {}
    save_group(settings, "job/1", "marketing", ["S1", "S2", "S1"])
    save_group(settings, "job/1", "card", ["S3"])
    save_group(settings, "job_1", "other", ["S9"])  # a different job, a different file
    assert load_groups(settings, "job/1") == {"marketing": ["S1", "S2"], "card": ["S3"]}
    assert load_groups(settings, "job_1") == {"other": ["S9"]}
    with pytest.raises(TestSendError, match="group:"):
        save_group(settings, "job/1", "bad name", ["S1"])
