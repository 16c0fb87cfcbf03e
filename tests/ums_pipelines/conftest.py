"""Fixtures for engine tests: a small bank (customers, consents, a template, jobs) and a
gateway simulator to send to.

Tests take everything from fixtures rather than importing this module: with no
``__init__.py`` under tests/, ``conftest`` is not a reliable import name.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ums_pipelines.compliance.approvals import approve_job
from ums_pipelines.compliance.gate import needs_approval
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig
from ums_pipelines.jobs import (
    ChannelVariant,
    SendPlan,
    register_job,
    register_sender_number,
    register_template,
)
from ums_pipelines.lanes import CHANNELS, Lane, Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.engine import utcnow
from ums_pipelines.store.models import Consent, Customer, Job, Message, Watermark
from ums_pipelines.targets import extract_targets

SENDER = "15881234"
# add_customer's phone when none is given: a mobile number of the customer's own.
OWN_PHONE = "own"
HEAD = "test-head"  # the test department's head: approves jobs the author ("test") wrote
# Hangul only, short: every SMS stays a 90-byte SMS unless a test says otherwise.
VARIANTS = (
    ChannelVariant("sms", "[UMS은행] {{ name }}님 업무 처리 완료"),
    ChannelVariant(
        "alimtalk",
        "[UMS은행] {{ name }}님, {{ branch }} 업무가 {{ today }}에 처리되었습니다.",
        provider_template_code="UMS_TX_01",
    ),
    ChannelVariant("push", "{{ name }}님 업무 처리 완료", "거래 안내"),
    ChannelVariant(
        "email",
        "{{ name }}님, {{ branch }} 업무가 처리되었습니다.",
        "[UMS은행] 거래 안내",
        "<p>{{ name }}님, <b>{{ branch }}</b> 업무가 처리되었습니다.</p>",
    ),
)
VARIABLES = ("name", "branch", "today")
# Every channel falls back to SMS, so a failure receipt always has a next leg.
ROUTES: dict[str, list[str]] = {
    "sms": ["sms"],
    "alimtalk": ["alimtalk", "sms"],
    "push": ["push", "sms"],
    "email": ["email", "sms"],
}
# The channels add_mixed spreads customers over: those VARIANTS and ROUTES cover.
MIXED_CHANNELS = tuple(ROUTES)

# No latency, receipts due at once; failures on every channel so fallback is exercised.
SIM_CONFIG = SimConfig(
    latency_ms=(0, 0),
    receipt_delay_ms=0,
    failure_rate=0.2,
    kakao_non_user_rate=0.3,
)


@dataclass
class Bank:
    """A store with customers and helpers to register and target jobs in it."""

    store: Store
    settings: Settings

    def add_customer(
        self,
        customer_id: str,
        *,
        preferred: str | None = "sms",
        phone: str | None = OWN_PHONE,
        email: str | None = None,
        push_token: str | None = None,
        name: str | None = "김민수",
        branch: str | None = "강남지점",
        deceased: bool = False,
        consents: Iterable[str] = CHANNELS,
        purpose: str = "info",
    ) -> None:
        now = datetime.now(UTC)
        if phone == OWN_PHONE:
            # A number of its own: customers sharing one are duplicate recipients, and
            # all but the first would be suppressed at target extraction.
            phone = f"010{zlib.crc32(customer_id.encode()) % 100_000_000:08d}"
        with self.store.session() as session:
            session.add(
                Customer(
                    customer_id=customer_id,
                    name=name,
                    phone=phone,
                    email=email,
                    push_token=push_token,
                    preferred_channel=preferred,
                    branch=branch,
                    deceased=deceased,
                    source_changed_at=now,
                    updated_at=now,
                )
            )
            session.flush()
            for channel in consents:
                session.add(
                    Consent(
                        customer_id=customer_id,
                        channel=channel,
                        purpose=purpose,
                        granted=True,
                        consented_at=now,
                        source="test",
                    )
                )

    def add_mixed(self, count: int, prefix: str = "C") -> list[str]:
        """``count`` reachable customers spread over the four channels of ``ROUTES``.

        Every fifth e-mail bounces and every seventh push token is unregistered, so
        each channel sees some failures beside the simulator's own.
        """
        ids = []
        for i in range(count):
            cid = f"{prefix}{i:05d}"
            domain = "bounce.example" if i % 5 == 0 else "example.com"
            token = f"invalid-{i}" if i % 7 == 0 else f"token-{i}"
            self.add_customer(
                cid,
                preferred=MIXED_CHANNELS[i % len(MIXED_CHANNELS)],
                phone=f"010{20000000 + i:08d}",
                email=f"c{i}@{domain}",
                push_token=token,
                name=f"고객{i}",
            )
            ids.append(cid)
        return ids

    def register(
        self,
        job_id: str | None = None,
        *,
        template_code: str = "tx-notice",
        variants: Sequence[ChannelVariant] = VARIANTS,
        routes: Mapping[str, Sequence[str]] | None = None,
        lane: Lane = Lane.INFORMATIONAL,
        purpose: Purpose = Purpose.INFORMATIONAL,
        variables: Sequence[str] = VARIABLES,
        plan: SendPlan | None = None,
    ) -> str:
        job_id = job_id or f"job-{uuid.uuid4().hex[:10]}"
        with self.store.session() as session:
            register_sender_number(session, SENDER, "고객센터", actor="test")
            register_template(
                session,
                code=template_code,
                name="거래 안내",
                purpose=purpose,
                variables=variables,
                variants=variants,
                actor="test",
            )
            register_job(
                session,
                job_id=job_id,
                name="테스트 안내",
                template_code=template_code,
                routes=dict(routes or ROUTES),
                sender_number=SENDER,
                department="test-dept",
                actor="test",
                lane=lane,
                plan=plan,
            )
        return job_id

    def targeted(self, job_id: str | None = None, *, approve: bool = True, **kwargs: Any) -> str:
        """Register a job and freeze its targets; a job that needs four-eyes approval
        (advertising, or above the threshold) is approved by the department head unless
        ``approve=False``."""
        job_id = self.register(job_id, **kwargs)
        extract_targets(self.store, self.settings, job_id)
        if approve:
            self.approve(job_id, only_if_needed=True)
        return job_id

    def approve(self, job_id: str, *, only_if_needed: bool = False) -> None:
        """The job's approval by the department head (``HEAD``), someone other than its
        author ("test"), holding the approver role that an admin granted."""
        with self.store.session() as session:
            job = session.get(Job, job_id)
            assert job is not None
            if only_if_needed and needs_approval(job, self.settings) is None:
                return
            grant_role(session, HEAD, "approver", job.department, granted_by="test-admin")
            approve_job(session, job_id, HEAD)

    def messages(self, job_id: str) -> list[Message]:
        with self.store.session() as session:
            return list(
                session.scalars(
                    select(Message).where(Message.job_id == job_id).order_by(Message.id)
                )
            )


@pytest.fixture
def bank(store: Store, settings: Settings) -> Bank:
    return Bank(store, settings)


@pytest.fixture(scope="session")
def gateway() -> Iterator[GatewaySimulator]:
    """One simulator per test process; tests keep apart by job id (the key prefix)."""
    with GatewaySimulator(SIM_CONFIG) as sim:
        yield sim


@pytest.fixture
def sim_bank(bank: Bank, gateway: GatewaySimulator) -> Bank:
    """A bank whose settings point at the running simulator."""
    bank.settings = bank.settings.model_copy(
        update={
            "gateway_url": gateway.base_url,
            "smtp_port": gateway.smtp_port,
            "apns_url": gateway.apns_url,
        }
    )
    # The simulator is shared by the process's tests: a new store would otherwise read
    # every receipt earlier tests caused (thousands of pages late in the suite, tens of
    # seconds per dispatch) before its own. A new account at a provider sees only its own.
    with bank.store.session() as session:
        for channel in CHANNELS:
            head = gateway.ledger.feed_head(channel, gateway.config.receipt_faults)
            session.merge(
                Watermark(name=f"receipts:{channel}", value=str(head), updated_at=utcnow())
            )
    return bank


@pytest.fixture
def ledger_summary(gateway: GatewaySimulator) -> Any:
    """``ledger_summary(prefix)``: the simulator's /ledger/v1/summary for a key prefix."""

    def get(prefix: str) -> dict[str, Any]:
        response = httpx.get(
            f"{gateway.base_url}/ledger/v1/summary", params={"keyPrefix": prefix}, timeout=10
        )
        response.raise_for_status()
        channels: dict[str, Any] = response.json()["channels"]
        return channels

    return get


@pytest.fixture
def ledger_rows(gateway: GatewaySimulator) -> Any:
    """``ledger_rows(prefix)``: every row the simulator accepted under a key prefix."""

    def get(prefix: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        after = 0
        while True:
            response = httpx.get(
                f"{gateway.base_url}/ledger/v1/messages",
                params={"keyPrefix": prefix, "after": after, "limit": 5000},
                timeout=10,
            )
            response.raise_for_status()
            page = response.json()["messages"]
            if not page:
                return rows
            rows.extend(page)
            after = int(page[-1]["seq"])

    return get
