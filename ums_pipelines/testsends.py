"""Test sends: a job's content sent to bank staff, never to a customer (issue 7).

Recipients come only from the staff directory (``UMS_STAFF_DIRECTORY``, YAML or CSV:
staff_id, name, department, phone, email, push_token). A test send refuses any staff
contact that is also a customer's contact, so a typo in the directory cannot reach a
customer. Each staff member gets one message per channel of the job's default route,
rendered with the job's content and parameters and the staff member's own name and
department as the sample customer.

Marking: the messages belong to a companion job ``<JOB>~test`` (status ``test``, created
on first use, same content, routes and sender), their ``customer_id`` is
``staff:<staff_id>`` (a colon: never a customer id) and ``send_round`` numbers the test
send. The job's own counts, targets and receipts never see them; statistics and billing
exclude jobs of status ``test``. The rows go to the urgent lane of the outbox: the send
agents send them through the real providers like any real-time message.

Test groups are saved with the job as ``UMS_HOME/testgroups/<job>.json`` (name -> staff
ids): a file, not a table, because a group is an operator's convenience, not a record.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select

from ums_pipelines import audit
from ums_pipelines.compliance.access import authorize
from ums_pipelines.content.plan import renderer_for, write_links
from ums_pipelines.content.render import take_links
from ums_pipelines.dispatch.agent import start_agent
from ums_pipelines.dispatch.compose import compose_row
from ums_pipelines.jobs import template_variants
from ums_pipelines.lanes import Lane, message_priority
from ums_pipelines.settings import Settings
from ums_pipelines.staffdir import Staff, StaffDirectoryError, contact_of, load_staff
from ums_pipelines.store import Store, utcnow
from ums_pipelines.store.models import Customer, Job, Message

__all__ = [
    "ACTION",
    "TEST_STATUS",
    "TestSendError",
    "TestSendResult",
    "companion_job_id",
    "deliver",
    "load_groups",
    "save_group",
    "send_test",
]

ACTION = "job.test_send"
TEST_STATUS = "test"
_GROUP = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class TestSendError(ValueError):
    """Nothing was sent; the message names the field or staff member and the reason."""

    __test__ = False  # not a pytest class


def _groups_file(settings: Settings, job_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", job_id)
    if safe != job_id:  # two job ids must never share a file
        safe = f"{safe}-{hashlib.sha256(job_id.encode()).hexdigest()[:8]}"
    return settings.resolved_home / "testgroups" / f"{safe}.json"


def load_groups(settings: Settings, job_id: str) -> dict[str, list[str]]:
    path = _groups_file(settings, job_id)
    if not path.exists():
        return {}
    groups: dict[str, list[str]] = json.loads(path.read_text(encoding="utf-8"))["groups"]
    return groups


def save_group(settings: Settings, job_id: str, name: str, staff_ids: list[str]) -> Path:
    """Save (or replace) test group ``name`` of the job; written atomically."""
    if not _GROUP.match(name):
        raise TestSendError("group: 1-64 characters of A-Z, a-z, 0-9, '_' or '-'")
    groups = load_groups(settings, job_id)
    groups[name] = list(dict.fromkeys(staff_ids))
    path = _groups_file(settings, job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps({"job_id": job_id, "groups": groups}, indent=2), encoding="utf-8")
    temp.replace(path)
    return path


def companion_job_id(job_id: str) -> str:
    return f"{job_id[:59]}~test"


@dataclass
class TestSendResult:
    __test__ = False  # not a pytest class

    job_id: str  # the test job's id
    round: int
    messages: dict[str, list[int]] = field(default_factory=dict)  # staff id -> message ids
    skipped: dict[str, str] = field(default_factory=dict)  # staff id -> why (no contact)


def _refuse_customer_contacts(session: Any, members: list[Staff]) -> None:
    phones = [m.phone for m in members if m.phone]
    emails = [m.email for m in members if m.email]
    tokens = [m.push_token for m in members if m.push_token]
    hit = session.execute(
        select(Customer.phone, Customer.email, Customer.push_token).where(
            or_(
                Customer.phone.in_(phones),
                Customer.email.in_(emails),
                Customer.push_token.in_(tokens),
            )
        )
    ).all()
    for member in members:
        for phone, email, token in hit:
            if {member.phone, member.email, member.push_token} & ({phone, email, token} - {None}):
                raise TestSendError(
                    f"staff {member.staff_id}: a contact of this entry is a customer's;"
                    " a test send never reaches a customer"
                )


def _test_job(session: Any, job: Job, actor: str) -> Job:
    test = session.get(Job, companion_job_id(job.job_id))
    if test is not None:
        return test  # type: ignore[no-any-return]
    columns = {c.key: getattr(job, c.key) for c in Job.__table__.columns}
    now = utcnow()
    columns.update(
        job_id=companion_job_id(job.job_id),
        name=f"[TEST] {job.name}"[:200],
        status=TEST_STATUS,
        created_by=actor,
        created_at=now,
        updated_at=now,
        target_count=None,
        suppressed=None,
        planned_count=None,
    )
    test = Job(**columns)
    session.add(test)
    session.flush()
    return test


def send_test(
    store: Store, settings: Settings, job_id: str, staff_ids: list[str], actor: str
) -> TestSendResult:
    """Queue the job's messages for the given staff members on the urgent lane."""
    if not staff_ids:
        raise TestSendError("staff: at least one staff id (or a saved group) is needed")
    try:
        directory = load_staff(settings)
    except StaffDirectoryError as exc:
        raise TestSendError(str(exc)) from None
    unknown = [s for s in staff_ids if s not in directory]
    if unknown:
        raise TestSendError(f"staff: not in the staff directory: {', '.join(unknown)}")
    members = [directory[s] for s in dict.fromkeys(staff_ids)]
    now = utcnow()
    with store.session() as session:
        job = session.get(Job, job_id)
        if job is None or job.status == TEST_STATUS:
            raise TestSendError(f"job: no job {job_id!r}")
        authorize(session, actor, ACTION, job.department)
        _refuse_customer_contacts(session, members)
        test = _test_job(session, job, actor)
        last = session.scalar(
            select(func.max(Message.send_round)).where(Message.job_id == test.job_id)
        )
        result = TestSendResult(test.job_id, (last or 0) + 1)
        routes: dict[str, list[str]] = job.routes
        # Every channel the job may use, so each variant is seen once.
        chain = list(dict.fromkeys(c for route in routes.values() for c in route))
        variants = template_variants(session, job.template_id, job.template_version)
        renderer = renderer_for(session, settings, test, now)
        today = now.astimezone(settings.tz).strftime("%Y-%m-%d")
        rows: list[dict[str, Any]] = []
        for member in members:
            for channel in chain:
                if channel not in variants or not contact_of(member, channel):
                    continue
                key = f"{test.job_id}:{result.round}:{member.staff_id}:{channel}"
                # A chain of one channel: a test shows each variant, and a fallback leg
                # would look the recipient up among customers.
                row, _ = compose_row(
                    test, variants[channel], member, [channel], 0, now, today,
                    renderer=renderer, key=key,
                )  # fmt: skip
                row["priority"] = message_priority(Lane.URGENT, channel)
                row["send_round"] = result.round
                rows.append(row)
            if not any(r["customer_id"] == member.customer_id for r in rows):
                result.skipped[member.staff_id] = (
                    f"no contact for {', '.join(chain) or 'any channel'}"
                )
        links = take_links(rows)
        messages = [Message(**row) for row in rows]
        session.add_all(messages)
        session.flush()
        write_links(session, links)
        for message in messages:
            staff_id = message.customer_id.removeprefix("staff:")
            result.messages.setdefault(staff_id, []).append(message.id)
        audit.record(
            session, actor, "job.test_sent", "job", job_id,
            test_job=test.job_id, round=result.round, staff=sorted(result.messages),
            messages=len(messages),
        )  # fmt: skip
    return result


async def deliver(
    store: Store, settings: Settings, ids: list[int], seconds: float
) -> dict[int, str]:
    """Run a send agent here until the test messages ``ids`` are no longer waiting or
    ``seconds`` pass (for a test send when no agent is running); their states."""
    agent, task = start_agent(store, settings)
    deadline = time.monotonic() + seconds
    states: dict[int, str] = {}
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            states = await asyncio.to_thread(_states, store, ids)
            if all(s not in _WAITING for s in states.values()):
                break
    finally:
        agent.stop()
        await task
    return await asyncio.to_thread(_states, store, ids)


_WAITING = ("queued", "claimed")


def _states(store: Store, ids: list[int]) -> dict[int, str]:
    with store.reading() as session:
        rows = session.execute(select(Message.id, Message.state).where(Message.id.in_(ids)))
        return {i: s for i, s in rows}
