"""Who may do what: every store-backed command and state-changing asset names an action,
and an action needs one role in the department of the thing acted on (issue 6).

The department is the job's, the content item's or the sender's; an object of no
department (a global forbidden word, the registry export, the audit log, the agents) needs
the role held for every department ('*'). Admin does not imply the other roles
(separation of duties): an admin grants roles, and needs another role to use them.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.compliance.roles import ALL_DEPARTMENTS, ROLES, RoleError, grant_role, has_role
from ums_pipelines.store.compliance import StaffRole
from ums_pipelines.store.engine import Store

__all__ = [
    "ACTIONS",
    "ANY_ROLE",
    "BOOTSTRAP_ACTOR",
    "SERVICE_ACCOUNT",
    "AccessDenied",
    "Scope",
    "allowed",
    "authorize",
    "bootstrap_admin",
    "content_department",
    "guard",
    "job_department",
    "roles_for",
    "sender_department",
    "word_department",
]

ANY_ROLE = "staff"  # read-only views: any active role in the department (or '*')
SERVICE_ACCOUNT = "ums-scheduler"  # Dagster assets, sensors and schedules act as it
BOOTSTRAP_ACTOR = "bootstrap"

# action -> the role it needs ("a|b": either one). Sorted by area; docs/compliance.md
# carries the same table (tests/ums_pipelines/compliance/test_access.py compares them).
ACTIONS: dict[str, str] = {
    # content bank
    "content.add": "author",
    "content.submit": "author",
    "content.review": "reviewer|approver",
    "content.approve": "approver",
    "content.retire": "approver",
    "content.list": ANY_ROLE,
    "content.show": ANY_ROLE,
    "content.history": ANY_ROLE,
    "content.export": ANY_ROLE,
    "content.preview": ANY_ROLE,
    # jobs: four-eyes approval, control and dispatch
    "job.register": "author",
    "job.approve": "approver",
    "job.reject": "approver",
    "job.status": ANY_ROLE,
    "job.pause": "operator",
    "job.resume": "operator",
    "job.cancel": "operator",
    "job.resend_failed": "operator",
    "job.checks": ANY_ROLE,
    "job.replan": "author",
    "job.recheck": "author",
    "job.acknowledge": "approver",
    "job.test_send": "author",  # to staff only (testsends.py)
    "budget.set": "approver",
    "budget.show": ANY_ROLE,
    "review.request": "author",
    "review.status": ANY_ROLE,
    "review.ingest": "operator",
    "review.serve": "operator",
    "targets.freeze": "operator",
    "targets.segment": "author",
    "targets.upload": "author",
    "targets.show": ANY_ROLE,
    "dispatch.run": "operator",
    "receipts.poll": "operator",
    # urgent notices ('*': bank-wide; docs/operations.md "Urgent notices"): approved by
    # an approver for every department, never by the drafter
    "urgent.draft": "author",
    "urgent.dry_run": "author|operator",
    "urgent.approve": "approver",
    "urgent.send": "operator",
    "urgent.status": ANY_ROLE,
    # real-time traffic and agents ('*': no department)
    "message.submit": "operator",
    "agent.run": "operator",
    "agent.list": ANY_ROLE,
    # monitoring (docs/operations.md): the numbers, the screen board, its tokens ('*')
    "stats.view": ANY_ROLE,
    "board.view": ANY_ROLE,
    "board.serve": "operator",
    "board.token": "admin",
    "metrics.serve": "operator",
    # alerts and the on-call list ('*'; docs/operations.md, "Alerts")
    "alerts.list": ANY_ROLE,
    "alerts.show": ANY_ROLE,
    "alerts.ack": "operator",
    "alerts.evaluate": "operator",
    "alerts.oncall_add": "operator",
    "alerts.oncall_remove": "operator",
    "alerts.oncall_list": ANY_ROLE,
    # customers, replies and opt-outs ('*')
    "customers.sync": "operator",
    "customers.quarantine": "operator",
    "mo.ingest": "operator",
    "mo.care": "operator",
    "mo.handle": "operator",
    "optout.due": "operator",
    "optout.confirm": "operator",
    "optout.import": "operator",  # 080 file, Kakao blocks, push-off events
    "optout.add": "operator",  # a call-centre request
    "optout.list": "operator",
    "consent.reconfirm": "operator",
    "consent.due": "operator",
    "shortlink.serve": "operator",
    "shortlink.clicks": ANY_ROLE,
    # contact history (docs/history.md): the care queue's role looks up, masked; the
    # unmasked view is for a dispute or an inquiry, a rarer role's, and audited
    "history.view": "operator",
    "history.unmask": "auditor",
    # registries: forbidden words (department or '*'), sender registry (owner department)
    "words.add": "reviewer",
    "words.retire": "reviewer",
    "words.restore": "reviewer",
    "words.seed": "reviewer",
    "words.list": ANY_ROLE,
    "words.check": ANY_ROLE,
    "senders.register": "approver",
    "senders.update": "approver",
    "senders.deactivate": "approver",
    "senders.list": ANY_ROLE,
    "senders.export": ANY_ROLE,
    "senders.changes": ANY_ROLE,
    # analytics and reports ('*')
    "analytics.export": "operator",
    "report.render": "operator",
    "cost.report": ANY_ROLE,
    "cost.reconcile": "operator",
    # send calendar (docs/operations.md, "Send calendar"): every department's plan ('*');
    # moving a job's window is a change of its plan, the author's (the job's department)
    "calendar.show": ANY_ROLE,
    "calendar.conflicts": ANY_ROLE,
    "calendar.ics": ANY_ROLE,
    "calendar.move": "author",
    "calendar.check": "author|operator",
    # retention: purges are operations; a legal hold is the auditor's (compliance) call
    "retention.plan": "operator",
    "retention.purge": "operator",
    "retention.hold": "auditor",
    "retention.list": ANY_ROLE,
    # the trail and the roles
    "audit.verify": "auditor",
    "audit.show": "auditor",
    "roles.grant": "admin",
    "roles.revoke": "admin",
    "roles.list": "admin|auditor",
}


class AccessDenied(RoleError):
    """The actor lacks the role an action needs in the department acted on."""

    def __init__(self, actor: str, action: str, role: str, department: str) -> None:
        self.actor, self.action, self.role, self.department = actor, action, role, department
        needs = " or ".join(role.split("|")) if role != ANY_ROLE else "any role"
        super().__init__(
            f"access denied: {actor} may not {action}: it needs {needs} in department"
            f" {department} (or '*')"
        )


def roles_for(action: str) -> tuple[str, ...]:
    """The roles any one of which allows ``action``; () for ANY_ROLE (any role at all)."""
    try:
        needed = ACTIONS[action]
    except KeyError:
        raise ValueError(f"action: {action!r} is not a known action") from None
    return () if needed == ANY_ROLE else tuple(needed.split("|"))


def allowed(session: Session, actor: str, action: str, department: str | None) -> bool:
    """Whether ``actor`` may do ``action`` in ``department`` (None = '*'), recording
    nothing: for pollers (sensors) that would otherwise log a denial every minute."""
    department = department or ALL_DEPARTMENTS
    return any(has_role(session, actor, role, department) for role in roles_for(action) or ROLES)


def authorize(session: Session, actor: str, action: str, department: str | None) -> None:
    """Return if ``actor`` may do ``action`` in ``department`` (None = '*'), else record
    an "access.denied" audit entry in this session and raise AccessDenied.

    The entry commits with the caller's transaction: a caller that lets the refusal roll
    its transaction back uses ``guard``, which checks in a transaction of its own."""
    department = department or ALL_DEPARTMENTS
    if not actor or not actor.strip():
        raise ValueError("actor: empty; give --actor or set UMS_ACTOR")
    if allowed(session, actor, action, department):
        return
    needed = ACTIONS[action]
    audit.record(
        session, actor, "access.denied", "action", action, role=needed, department=department
    )
    raise AccessDenied(actor, action, needed, department)


def guard(
    store: Store,
    actor: str,
    action: str,
    department: str | Callable[[Session], str | None] | None,
) -> None:
    """``authorize`` in its own short transaction, so a denial stays in the audit log
    though the refused command does nothing. ``department`` may be read from the store
    (the job's, the item's) by a callable given the session."""
    denied: AccessDenied | None = None
    with store.session() as session:
        scope = department(session) if callable(department) else department
        try:
            authorize(session, actor, action, scope)
        except AccessDenied as exc:
            denied = exc
    if denied is not None:
        raise denied


# The department of the object acted on, read in the check's own transaction. An unknown
# object is checked for '*': the command then reports it missing to whoever may know.
Scope = Callable[[Session], str | None]


def job_department(job_id: str) -> Scope:
    from ums_pipelines.store.models import Job

    return lambda session: session.scalar(select(Job.department).where(Job.job_id == job_id))


def content_department(code: str) -> Scope:
    from ums_pipelines.store.models import Template

    return lambda session: session.scalar(select(Template.department).where(Template.code == code))


def sender_department(kind: str, value: str) -> Scope:
    from ums_pipelines.store.compliance import Sender
    from ums_pipelines.store.models import SenderNumber

    def read(session: Session) -> str | None:
        if kind == "number":
            return session.scalar(
                select(SenderNumber.department).where(SenderNumber.number == value)
            )
        query = select(Sender.department).where(Sender.kind == kind, Sender.value == value)
        return session.scalar(query.limit(1))

    return read


def word_department(word_id: int) -> Scope:
    from ums_pipelines.store.compliance import ForbiddenWord

    return lambda session: session.scalar(
        select(ForbiddenWord.department).where(ForbiddenWord.id == word_id)
    )


def bootstrap_admin(session: Session, user_id: str) -> StaffRole:
    """Make ``user_id`` admin for '*' while no active admin exists: the one way to the
    first admin (every later grant is by an admin, never by oneself)."""
    active = session.scalar(
        select(StaffRole.user_id)
        .where(StaffRole.role == "admin", StaffRole.revoked_at.is_(None))
        .limit(1)
    )
    if active is not None:
        raise RoleError(f"bootstrap: an active admin exists ({active}); an admin grants roles")
    return grant_role(session, user_id, "admin", ALL_DEPARTMENTS, BOOTSTRAP_ACTOR)
