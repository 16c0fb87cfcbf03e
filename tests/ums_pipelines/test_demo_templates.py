"""The showcase's templates: each composes to the message type the showcase promises, and
registering them again (every demo run does) stores no new file and no new version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ums_pipelines.demo_showcase import SHOWCASE, Showcase, write_showcase_customers
from ums_pipelines.demo_templates import register_showcase_templates
from ums_pipelines.dispatch.compose import compose_row
from ums_pipelines.dispatch.standing import standing_job
from ums_pipelines.jobs import register_sender_number, template_variants
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Customer, Job, TemplateVersion

NOW = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
CUSTOMERS = {
    "S0000001": Customer(
        customer_id="S0000001",
        name="이서윤",
        phone="01024681358",
        email="seoyun@example.com",
        push_token="f1" * 32,
        push_platform="fcm",
        branch="강남지점",
    ),
    "S0000002": Customer(
        customer_id="S0000002",
        name="박지훈",
        phone="01035792469",
        email="jihun@example.net",
        push_token="a2" * 32,
        push_platform="apns",
        branch="여의도지점",
    ),
    "S0000003": Customer(customer_id="S0000003", name="최유진", phone="+14155552671"),
}


def versions(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(TemplateVersion)) or 0)


def test_registering_again_adds_no_version_and_no_file(store: Store, settings: Settings) -> None:
    register_showcase_templates(store, settings)
    first, files = versions(store), sorted(settings.content_dir.rglob("*"))
    register_showcase_templates(store, settings)
    assert versions(store) == first == len({s.template for s in SHOWCASE})
    assert sorted(settings.content_dir.rglob("*")) == files
    assert sum(f.is_file() for f in files) == 2  # the image and the PDF statement


@pytest.mark.parametrize("item", SHOWCASE, ids=lambda s: s.key)
def test_each_template_composes_to_its_type(
    store: Store, settings: Settings, item: Showcase
) -> None:
    register_showcase_templates(store, settings)
    with store.session() as session:
        register_sender_number(session, "15881234", "고객센터", actor="test")
    job_id = standing_job(store, item.template, sender_number="15881234")
    with store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        variant = template_variants(session, job.template_id, job.template_version)[item.channel]
        row, error = compose_row(
            job, variant, CUSTOMERS[item.customer], [item.channel], 0, NOW, "2026-05-01"
        )
    assert error is None and row["state"] == "queued", error
    assert row["message_type"] == item.message_type
    assert row["recipient"]


def test_the_customer_file_has_every_consent(settings: Settings) -> None:
    path = settings.customer_inbox / "showcase.csv"
    assert write_showcase_customers(path, NOW) == 3
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    columns = header.split(",")
    assert {"push_platform", "consent_rcs_info", "consent_dm_info", "consent_brand_ad"} <= set(
        columns
    )
    assert all(len(r.split(",")) == len(columns) for r in rows)
