"""The log guard (tests/pii_log_guard.py) that runs around every test of the suite: what
it counts as personal data, the customer names it learns from the store, and an inner
pytest run showing it fails a leaking test in teardown, with the line masked."""

from __future__ import annotations

import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import insert, text, update

from ums_pipelines.store import Store
from ums_pipelines.store.models import Customer

GUARD = Path(__file__).resolve().parent / "pii_log_guard.py"


@pytest.fixture
def guard() -> ModuleType:
    return sys.modules["ums_pii_log_guard"]  # registered by tests/conftest.py


@pytest.mark.parametrize(
    ("line", "kinds"),
    [
        ("sent to 010-2345-6789", ["phone number"]),
        ("sent to 01023456789.", ["phone number"]),
        ("to=+82 10 2345 6789", ["phone number"]),
        ("branch 02-345-6789 called", ["phone number"]),
        ("rrn 900101-1234567 refused", ["RRN"]),
        ("rrn=0301014123456", ["RRN"]),
        ("card 4111 1111 1111 1111 declined", ["card number"]),
        ("card=5555-5555-5555-4444", ["card number"]),
        ("card 2223 0000 4841 0010", ["card number"]),
        # A time stamp in a file name that happens to pass Luhn (found by the suite).
        ("customer file demo-customers-20261126024615.csv: applied", []),
        ("job job-1 sent 3 messages in 0.0312345678 s", []),
        ("at 1764122000000 ms, ns 1764122000000000000", []),
        ("card 4111 1111 1111 1112 (Luhn fails)", []),
        ("uuid 0a1b2c3d01023456789", []),
        ("customer C00042 on channel sms", []),
        # Dagster run ids (UUIDs) whose digit runs pass Luhn (found by the suite).
        ("run 95498598-9580-4e4a-bf77-e2f6692eccf3 - RUN_START", []),
        ("run 9f901828-fa98-43a2-bf94-276992674187 started", []),
        ("run f54de8e4-d745-4ffd-bde5-689746673685 started", []),
        ("run edd1ac1b-5a42-449c-ab93-050412340010 - RUN_START", []),
        ("called-to 010-2345-6789", ["phone number"]),
        ("card(4111111111111111)", ["card number"]),
    ],
)
def test_what_counts_as_personal_data(guard: ModuleType, line: str, kinds: list[str]) -> None:
    assert guard.find_leaks(line) == kinds


def test_names_match_inside_korean_text_and_as_whole_ascii_words(guard: ModuleType) -> None:
    names = guard.Names()
    for value in ("박지훈", "Kim Lee", "가", None, 42):
        names.add(value)
    assert names.names == {"박지훈", "Kim Lee"}  # one character is not a name
    assert guard.find_leaks("박지훈님께 발송", names) == ["customer name"]
    assert guard.find_leaks("to Kim Lee.", names) == ["customer name"]
    assert guard.find_leaks("to XKim Leet", names) == []
    assert guard.mask_line("박지훈님 010-2345-6789", names) == "박*훈님 010-****-6789"
    assert guard.mask_line("card 4111-1111-1111-1111", names) == "card ************1111"


def test_names_written_to_customers_are_collected(guard: ModuleType, store: Store) -> None:
    now = datetime.now(UTC)
    base = {"phone": None, "source_changed_at": now, "updated_at": now}
    with store.session() as session:
        session.add(Customer(customer_id="C1", name="이서윤", **base))
        session.flush()
        session.execute(  # Core executemany
            insert(Customer),
            [{**base, "customer_id": f"C{i}", "name": f"고객{i}"} for i in range(2, 6)],
        )
        session.execute(update(Customer).where(Customer.customer_id == "C2").values(name="최유진"))
        session.execute(
            text("UPDATE customers SET name = :name WHERE customer_id = :cid"),
            {"name": "홍길동", "cid": "C3"},
        )
        session.execute(text("SELECT name FROM customers WHERE name = :name"), {"name": "김민수"})
    names = guard._current.names.names
    assert {"이서윤", "고객2", "고객5", "최유진", "홍길동"} <= names
    assert "김민수" not in names  # read, not written


INNER_CONFTEST = f"""
import importlib.util

spec = importlib.util.spec_from_file_location("ums_pii_log_guard", {str(GUARD)!r})
guard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(guard)


def pytest_configure(config):
    config.pluginmanager.register(guard, "ums_pii_log_guard")
"""

INNER_TESTS = """
import logging
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from ums_pipelines.store.models import Customer

log = logging.getLogger("ums_pipelines.leaky")


def test_clean():
    log.info("sent %d messages for job %s", 3, "job-1")
    log.debug("took 0.0312345678 s at 1764122000000 ms; 4111111111111112 is no card")


def test_phone_at_debug():
    log.debug("sending to %s", "010-2345-6789")


def test_rrn_in_exception_text():
    try:
        raise ValueError("bad 900101-1234567")
    except ValueError:
        log.exception("row refused")


def test_card_from_another_logger():
    logging.getLogger("aiohttp.access").warning("card 4111 1111 1111 1111 declined")


def test_logger_that_does_not_propagate():
    quiet = logging.getLogger("uvicorn.error")
    quiet.propagate = False
    quiet.info("client +82 10 2345 6789 connected")


def test_customer_name(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    Customer.__table__.create(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Customer),
            [{"customer_id": "C1", "name": "박지훈", "source_changed_at": now, "updated_at": now},
             {"customer_id": "C2", "name": "이영희", "source_changed_at": now, "updated_at": now}],
        )
    logging.getLogger("ums_pipelines.customers").info("welcome %s님", "이영희")


def test_a_name_no_customer_has_is_not_a_leak():
    log.info("이영희")


@pytest.fixture
def noisy_teardown():
    yield
    logging.getLogger("ums_pipelines.cleanup").error("could not reach 01098765432")


def test_teardown_lines_count(noisy_teardown):
    pass


def test_subprocess_stderr_helper(pii_leaks):
    assert pii_leaks("ok line\\nsent to 010-2345-6789\\n") == ["sent to 010-****-6789"]
"""


def test_a_leaking_test_errors_in_teardown_with_the_line_masked(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner=textwrap.dedent(INNER_TESTS))
    # --show-capture=no: pytest's own report of captured logs would repeat the raw lines.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rE", "--show-capture=no")
    result.assert_outcomes(passed=9, errors=6)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            f"ERROR test_inner.py::{test} - Failed: personal*"
            for test in (
                "test_phone_at_debug",
                "test_rrn_in_exception_text",
                "test_card_from_another_logger",
                "test_logger_that_does_not_propagate",
                "test_customer_name",
                "test_teardown_lines_count",
            )
        ],
        # Not consecutive: how the summary wraps its detail lines depends on the width
        # of the (possibly absent) terminal; CI has none.
    )
    result.stdout.fnmatch_lines(
        [
            "*ums_pipelines.leaky DEBUG (phone number): sending to 010-****-6789*",
            "*ums_pipelines.leaky ERROR (RRN): row refused*",
            "*aiohttp.access WARNING (card number): card ************1111 declined*",
            "*uvicorn.error INFO (phone number): client 010-****-6789 connected*",
            "*ums_pipelines.customers INFO (customer name): welcome 이*희님*",
            "*ums_pipelines.cleanup ERROR (phone number): could not reach 010-****-5432*",
        ]
    )
    for raw in ("2345-6789", "900101", "4111 1111", "이영희님", "98765432"):
        assert raw not in out
