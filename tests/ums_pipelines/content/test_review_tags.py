"""Content stage (issue 6): an empty personalisation tag or a tag the schema does not
declare is refused with the field and the tag named, at registration and again by the
review for a version stored around the checks."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.content.bank import add_content
from ums_pipelines.content.document import ContentDocument
from ums_pipelines.content.review import submit_for_review
from ums_pipelines.jobs import JobError, register_sender_number
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Template, TemplateVersion
from ums_pipelines.templates import TemplateError

DEPT = "card-operations"
CLEAN_SMS = "[UMS은행] {{ name }}님, 결제일은 {{ today }}입니다."


def doc(body: str, purpose: str = "informational") -> ContentDocument:
    return ContentDocument.model_validate(
        {
            "code": "card-tag",
            "name": "카드 안내",
            "purpose": purpose,
            "department": DEPT,
            "variables": [
                {"name": "name", "kind": "customer", "default": "고객"},
                {"name": "today", "kind": "job"},
            ],
            "variants": [{"channel": "sms", "body": body}],
        }
    )


@pytest.fixture
def staff(store: Store) -> None:
    with store.session() as session:
        grant_role(session, "kim", "author", DEPT, granted_by="admin")
        register_sender_number(session, "15881234", "고객센터", actor="admin")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[UMS은행] {{ }}님 안내", "variants[sms].body: an empty personalisation tag '{{ }}'"),
        ("[UMS은행]\n{{}}님", "variants[sms].body: an empty personalisation tag '{{}}' on line 2"),
        ("[UMS은행] {{ nick }}님", "variants[sms].body: variables not declared: nick"),
    ],
)
def test_registration_refuses_empty_and_undeclared_tags(
    store: Store, staff: None, body: str, message: str
) -> None:
    with store.session() as session, pytest.raises((TemplateError, JobError)) as refused:
        add_content(session, doc(body), "kim", approve=False)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("body", "code", "tag"),
    [
        ("[UMS은행] {{ }}님 안내", "EMPTY_TAG", "'{{ }}'"),
        ("[UMS은행] {{ nick }}님 안내", "UNDECLARED_TAG", "nick"),
    ],
)
def test_the_review_refuses_a_stored_variant_with_a_bad_tag(
    store: Store, settings: Settings, staff: None, body: str, code: str, tag: str
) -> None:
    with store.session() as session:
        add_content(session, doc(CLEAN_SMS), "kim", approve=False)
    with store.session() as session:  # written around the bank's checks
        template_id = session.scalars(select(Template.id).where(Template.code == "card-tag")).one()
        row = session.scalars(
            select(TemplateVersion).where(TemplateVersion.template_id == template_id)
        ).one()
        row.body = body
    with store.session() as session:
        result: Any = submit_for_review(session, "card-tag", 1, "kim", settings)
    assert result.status == "draft"
    [found] = [f for f in result.blocking if f.kind == "tag"]
    assert (found.code, found.field) == (code, "variants[sms].body")
    assert tag in found.message
