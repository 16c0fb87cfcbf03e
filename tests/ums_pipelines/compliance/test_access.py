"""RBAC (issue 6): each action needs its role in the department acted on, or in '*'."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from ums_pipelines.compliance.access import (
    ACTIONS,
    ANY_ROLE,
    AccessDenied,
    authorize,
    bootstrap_admin,
    guard,
    roles_for,
)
from ums_pipelines.compliance.roles import ROLES, RoleError, grant_role, revoke_role
from ums_pipelines.store import Store
from ums_pipelines.store.models import AuditLog

DOCS = Path(__file__).resolve().parents[3] / "docs" / "compliance.md"
# One action a role allows, and one it does not (admin grants, but does not send).
SAMPLES = {
    "author": ("content.add", "content.approve"),
    "reviewer": ("content.review", "content.approve"),
    "approver": ("job.approve", "dispatch.run"),
    "operator": ("dispatch.run", "job.approve"),
    "auditor": ("audit.verify", "roles.grant"),
    "admin": ("roles.grant", "dispatch.run"),
}


def _denials(store: Store) -> list[AuditLog]:
    with store.session() as session:
        query = select(AuditLog).where(AuditLog.action == "access.denied")
        return list(session.scalars(query.order_by(AuditLog.id)))


@pytest.mark.parametrize("role", ROLES)
def test_each_role_allows_its_actions_and_no_other(store: Store, role: str) -> None:
    allowed, refused = SAMPLES[role]
    with store.session() as session:
        grant_role(session, "kim", role, "card", granted_by="boss")
        authorize(session, "kim", allowed, "card")
        with pytest.raises(AccessDenied) as caught:
            authorize(session, "kim", refused, "card")
    message = str(caught.value)
    assert "kim" in message and refused in message and "card" in message
    assert " or ".join(roles_for(refused)) in message
    # the refusal is in the log: who, what, which role and department
    (entry,) = _denials(store)
    assert (entry.actor, entry.entity_id) == ("kim", refused)
    assert entry.detail == {"role": ACTIONS[refused], "department": "card"}


def test_a_role_holds_in_its_department_only_and_star_in_every_one(store: Store) -> None:
    with store.session() as session:
        grant_role(session, "kim", "operator", "card", granted_by="boss")
        grant_role(session, "lee", "operator", "*", granted_by="boss")
        authorize(session, "kim", "dispatch.run", "card")
        with pytest.raises(AccessDenied):
            authorize(session, "kim", "dispatch.run", "loan")
        # a global object (no department) needs the role for '*'
        with pytest.raises(AccessDenied):
            authorize(session, "kim", "mo.ingest", None)
        for department in ("card", "loan", None):
            authorize(session, "lee", "dispatch.run", department)


def test_revoked_role_is_refused(store: Store) -> None:
    with store.session() as session:
        grant_role(session, "kim", "approver", "card", granted_by="boss")
        authorize(session, "kim", "job.approve", "card")
        revoke_role(session, "kim", "approver", "card", revoked_by="boss")
        with pytest.raises(AccessDenied):
            authorize(session, "kim", "job.approve", "card")


def test_admin_does_not_imply_other_roles(store: Store) -> None:
    with store.session() as session:
        grant_role(session, "root", "admin", "*", granted_by="boss")
        authorize(session, "root", "roles.grant", "card")
        for action, needed in ACTIONS.items():
            if needed == ANY_ROLE or "admin" in roles_for(action):
                continue
            with pytest.raises(AccessDenied):
                authorize(session, "root", action, "card")


def test_read_only_views_take_any_role_and_either_role_allows(store: Store) -> None:
    with store.session() as session:
        grant_role(session, "kim", "author", "card", granted_by="boss")
        grant_role(session, "park", "approver", "card", granted_by="boss")
        authorize(session, "kim", "content.show", "card")
        with pytest.raises(AccessDenied):
            authorize(session, "nobody", "content.show", "card")
        authorize(session, "park", "content.review", "card")  # reviewer|approver


def test_guard_keeps_the_denial_though_the_command_does_nothing(store: Store) -> None:
    with pytest.raises(AccessDenied, match=r"may not dispatch\.run"):
        guard(store, "kim", "dispatch.run", lambda session: "card")
    assert [(d.actor, d.entity_id) for d in _denials(store)] == [("kim", "dispatch.run")]


def test_bad_input_names_the_field(store: Store) -> None:
    with store.session() as session:
        with pytest.raises(ValueError, match=r"action: 'send\.all'"):
            authorize(session, "kim", "send.all", "card")
        with pytest.raises(ValueError, match="actor: empty"):
            authorize(session, " ", "dispatch.run", "card")


def test_bootstrap_makes_the_first_admin_once(store: Store) -> None:
    with store.session() as session:
        row = bootstrap_admin(session, "root")
        assert (row.role, row.department, row.granted_by) == ("admin", "*", "bootstrap")
    with store.session() as session, pytest.raises(RoleError, match="active admin exists"):
        bootstrap_admin(session, "mallory")
    with store.session() as session:
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "role.granted")).one()
        assert (entry.actor, entry.entity_id) == ("bootstrap", "root")
        # with the only admin revoked, bootstrapping is possible again (a recovery path)
        revoke_role(session, "root", "admin", "*", revoked_by="cso")
        bootstrap_admin(session, "root2")


def test_docs_table_matches_actions() -> None:
    text = DOCS.read_text(encoding="utf-8")
    table = text[text.index("| action | role | department checked |") :].split("\n\n")[0]
    rows = re.findall(r"^\| `([a-z_.]+)` \| ([^|]+) \|", table, re.M)
    documented = {action: role.strip() for action, role in rows}
    expected = {
        action: "any role" if needed == ANY_ROLE else " or ".join(needed.split("|"))
        for action, needed in ACTIONS.items()
    }
    assert documented == expected
