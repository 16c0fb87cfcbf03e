"""Synthetic customer change files: shape, shares, determinism, and a load through sync."""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ums_pipelines.customers import sync_inbox
from ums_pipelines.demo_data import (
    BOUNCE_DOMAIN,
    DEMO_COLUMNS,
    INVALID_TOKEN_PREFIX,
    customer_id,
    write_customer_file,
)
from ums_pipelines.phones import normalize_kr_mobile
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Consent, Customer

NOW = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)
CHANNELS = ("sms", "alimtalk", "push", "email")


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    path = tmp_path_factory.mktemp("demo") / "customers.csv"
    assert write_customer_file(path, 10_000, seed=42, now=NOW) == 10_000
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == DEMO_COLUMNS
        return list(reader)


def share(rows: list[dict[str, str]], predicate: Callable[[dict[str, str]], bool]) -> float:
    return sum(1 for r in rows if predicate(r)) / len(rows)


def test_ids_names_and_branches(rows: list[dict[str, str]]) -> None:
    assert [r["customer_id"] for r in rows[:2]] == ["C0000001", "C0000002"]
    assert rows[-1]["customer_id"] == customer_id(10_000) == "C0010000"
    assert all(re.fullmatch(r"[가-힣]{2,5}", r["name"]) for r in rows)
    assert all(r["branch"].endswith("지점") for r in rows)
    assert len({r["name"] for r in rows}) > 1_000


def test_phones_are_unique_valid_mobiles(rows: list[dict[str, str]]) -> None:
    phones = [r["phone"] for r in rows]
    assert len(set(phones)) == len(phones)
    assert all(normalize_kr_mobile(p) == p and p.startswith("010") for p in phones)


def test_emails_are_unique_with_some_bounces(rows: list[dict[str, str]]) -> None:
    emails = [r["email"] for r in rows]
    assert len(set(emails)) == len(emails)
    bounce = share(rows, lambda r: r["email"].endswith("@" + BOUNCE_DOMAIN))
    assert 0.01 < bounce < 0.03
    domains = {r["email"].rsplit("@", 1)[1] for r in rows}
    assert domains == {"example.com", "example.net", "example.org", BOUNCE_DOMAIN}


def test_preferred_channel_shares(rows: list[dict[str, str]]) -> None:
    counts = Counter(r["preferred_channel"] for r in rows)
    expected = {"sms": 0.30, "alimtalk": 0.30, "push": 0.25, "email": 0.15}
    for channel, target in expected.items():
        assert abs(counts[channel] / len(rows) - target) < 0.02, channel


def test_push_tokens_some_invalid_and_push_customers_always_have_one(
    rows: list[dict[str, str]],
) -> None:
    tokens = [r["push_token"] for r in rows if r["push_token"]]
    invalid = sum(t.startswith(INVALID_TOKEN_PREFIX) for t in tokens) / len(tokens)
    assert 0.02 < invalid < 0.04
    assert len(set(tokens)) == len(tokens)
    assert all(r["push_token"] for r in rows if r["preferred_channel"] == "push")


def test_info_consent_opt_outs_only_on_the_preferred_channel(rows: list[dict[str, str]]) -> None:
    opted_out = [r for r in rows if any(r[f"consent_{c}_info"] == "N" for c in CHANNELS)]
    assert 0.01 < len(opted_out) / len(rows) < 0.03
    for r in opted_out:
        refused = [c for c in CHANNELS if r[f"consent_{c}_info"] == "N"]
        assert refused == [r["preferred_channel"]]
    assert all(r[f"consent_{c}_ad"] in "YN" for r in rows for c in CHANNELS)


def test_a_few_deceased(rows: list[dict[str, str]]) -> None:
    assert 0.002 < share(rows, lambda r: r["deceased"] == "Y") < 0.009
    assert all(r["deceased"] in ("Y", "N") for r in rows)


def test_changed_at_within_the_last_30_days(rows: list[dict[str, str]]) -> None:
    times = [datetime.fromisoformat(r["changed_at"]) for r in rows]
    assert all(t.utcoffset() == timedelta(hours=9) for t in times)
    assert all(NOW - timedelta(days=30) <= t <= NOW for t in times)


def test_deterministic_for_a_seed_and_atomic(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    write_customer_file(a, 200, seed=7, now=NOW)
    write_customer_file(b, 200, seed=7, now=NOW)
    write_customer_file(c, 200, seed=8, now=NOW)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "c.csv"]


def test_zero_customers_is_a_header_only_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "empty.csv"
    assert write_customer_file(path, 0, now=NOW) == 0
    assert path.read_text(encoding="utf-8").splitlines() == [",".join(DEMO_COLUMNS)]


def test_demo_file_loads_through_sync_inbox(store: Store, settings: Settings) -> None:
    write_customer_file(settings.customer_inbox / "demo.csv", 300, seed=3)

    [result] = sync_inbox(store, settings).files

    assert (result.status, result.rows_total, result.rows_applied) == ("applied", 300, 300)
    assert result.issues == [] and result.warnings == []
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 300
        assert session.scalar(select(func.count()).select_from(Consent)) == 300 * 8
        deceased = session.scalar(select(func.count()).where(Customer.deceased.is_(True)))
        first = session.get(Customer, "C0000001")
    assert deceased is not None and deceased < 300
    assert first is not None and first.phone is not None and first.phone.startswith("010")
