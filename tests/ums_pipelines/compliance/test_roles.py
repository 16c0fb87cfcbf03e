"""Staff roles by department: grants by someone else, revocation, '*' departments, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ums_pipelines.audit import verify_chain
from ums_pipelines.compliance.roles import (
    RoleError,
    grant_role,
    has_role,
    require_role,
    revoke_role,
    roles_of,
)
from ums_pipelines.store import Store
from ums_pipelines.store.models import AuditLog


def test_grant_revoke_and_regrant_are_audited(store: Store) -> None:
    with store.session() as session:
        row = grant_role(session, "kim", "approver", "card-dept", granted_by="admin")
        assert (row.granted_by, row.revoked_at) == ("admin", None)
        # Granting an active role again adds nothing and records nothing.
        assert grant_role(session, "kim", "approver", "card-dept", granted_by="lee").id == row.id
        assert has_role(session, "kim", "approver", "card-dept")
        assert not has_role(session, "kim", "approver", "loan-dept")
        revoke_role(session, "kim", "approver", "card-dept", revoked_by="admin")
        assert not has_role(session, "kim", "approver", "card-dept")
        assert roles_of(session, "kim") == []
        with pytest.raises(RoleError, match="holds no active approver role in card-dept"):
            revoke_role(session, "kim", "approver", "card-dept", revoked_by="admin")
        again = grant_role(session, "kim", "approver", "card-dept", granted_by="lee")
        assert again.id == row.id and again.granted_by == "lee" and again.revoked_at is None
    with store.session() as session:
        actions = session.execute(
            select(AuditLog.actor, AuditLog.action, AuditLog.detail).where(
                AuditLog.entity == "staff_role"
            )
        ).all()
        assert [(a, b) for a, b, _ in actions] == [
            ("admin", "role.granted"),
            ("admin", "role.revoked"),
            ("lee", "role.granted"),
        ]
        assert actions[0][2] == {"role": "approver", "department": "card-dept"}
        verify_chain(session)


def test_nobody_grants_themselves_and_bad_input_names_the_field(store: Store) -> None:
    with store.session() as session:
        with pytest.raises(RoleError, match="granted_by: kim cannot grant a role to themselves"):
            grant_role(session, "kim", "admin", "*", granted_by="kim")
        with pytest.raises(ValueError, match="role: 'boss' is not one of author, reviewer"):
            grant_role(session, "kim", "boss", "card-dept", granted_by="admin")
        with pytest.raises(ValueError, match="department: '' must be 1-64 characters"):
            grant_role(session, "kim", "approver", "", granted_by="admin")
        with pytest.raises(ValueError, match="user_id: 'kim lee' must be"):
            grant_role(session, "kim lee", "approver", "card-dept", granted_by="admin")
        assert roles_of(session, "kim") == []


def test_a_role_in_every_department(store: Store) -> None:
    with store.session() as session:
        grant_role(session, "cco", "approver", "*", granted_by="admin")
        grant_role(session, "cco", "auditor", "card-dept", granted_by="admin")
        require_role(session, "cco", "approver", "any-dept")
        with pytest.raises(RoleError, match="cco does not hold the auditor role for department"):
            require_role(session, "cco", "auditor", "loan-dept")
        held = [(r.role, r.department) for r in roles_of(session, "cco")]
        assert held == [("approver", "*"), ("auditor", "card-dept")]
