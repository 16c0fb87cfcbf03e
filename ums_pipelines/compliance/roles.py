"""Staff roles by department: who may approve a department's jobs, who audits, who runs them.

A role is held in one department, or in every one (department ``'*'``). Grants and
revocations are audited, and nobody grants a role to themselves: a second person is
always on record. Only approvals check roles so far.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.store.compliance import StaffRole
from ums_pipelines.store.engine import utcnow

__all__ = [
    "ALL_DEPARTMENTS",
    "ROLES",
    "RoleError",
    "grant_role",
    "has_role",
    "require_role",
    "revoke_role",
    "roles_of",
]

# author writes jobs and content; reviewer checks them; approver is the department head
# (four-eyes); operator runs dispatch; auditor reads the trail; admin grants roles.
ROLES = ("author", "reviewer", "approver", "operator", "auditor", "admin")
ALL_DEPARTMENTS = "*"
_NAME = re.compile(r"^[^\s\x00-\x1f]{1,64}$")


class RoleError(PermissionError):
    """A person does not hold the role an action needs, or a grant is refused."""


def _check(field: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"{field}: {value!r} must be 1-64 characters without spaces")
    return value


def _role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    return role


def _row(session: Session, user_id: str, role: str, department: str) -> StaffRole | None:
    return session.scalars(
        select(StaffRole).where(
            StaffRole.user_id == user_id,
            StaffRole.role == role,
            StaffRole.department == department,
        )
    ).first()


def grant_role(
    session: Session, user_id: str, role: str, department: str, granted_by: str
) -> StaffRole:
    """Give ``user_id`` the role in ``department`` ('*' = every department); granting an
    active role again changes nothing, a revoked one is granted anew."""
    _check("user_id", user_id)
    _check("department", department)
    _check("granted_by", granted_by)
    _role(role)
    if user_id == granted_by:
        raise RoleError(f"granted_by: {granted_by} cannot grant a role to themselves")
    now = utcnow()
    row = _row(session, user_id, role, department)
    if row is not None and row.revoked_at is None:
        return row
    if row is None:
        row = StaffRole(user_id=user_id, role=role, department=department)
        session.add(row)
    row.granted_by, row.granted_at, row.revoked_at = granted_by, now, None
    session.flush()
    audit.record(
        session, granted_by, "role.granted", "staff_role", user_id, role=role, department=department
    )
    return row


def revoke_role(
    session: Session, user_id: str, role: str, department: str, revoked_by: str
) -> StaffRole:
    """End an active grant (the row stays: who held what, when, is history)."""
    _check("revoked_by", revoked_by)
    _role(role)
    row = _row(session, user_id, role, department)
    if row is None or row.revoked_at is not None:
        raise RoleError(f"user_id: {user_id} holds no active {role} role in {department}")
    row.revoked_at = utcnow()
    audit.record(
        session, revoked_by, "role.revoked", "staff_role", user_id, role=role, department=department
    )
    return row


def roles_of(session: Session, user_id: str) -> list[StaffRole]:
    """The roles a person holds now, by department then role."""
    return list(
        session.scalars(
            select(StaffRole)
            .where(StaffRole.user_id == user_id, StaffRole.revoked_at.is_(None))
            .order_by(StaffRole.department, StaffRole.role)
        )
    )


def has_role(session: Session, user_id: str, role: str, department: str) -> bool:
    """Whether ``user_id`` holds ``role`` in ``department`` or in every department."""
    found = session.scalar(
        select(StaffRole.id)
        .where(
            StaffRole.user_id == user_id,
            StaffRole.role == _role(role),
            StaffRole.department.in_((department, ALL_DEPARTMENTS)),
            StaffRole.revoked_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


def require_role(session: Session, user_id: str, role: str, department: str) -> None:
    if not has_role(session, user_id, role, department):
        raise RoleError(f"{user_id} does not hold the {role} role for department {department}")
