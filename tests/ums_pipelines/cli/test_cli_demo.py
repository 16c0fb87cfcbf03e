"""``ums demo`` end to end through the CLI: the table, the ledger, a rerun, PostgreSQL, the page.

The demo runs in-process through Typer's CliRunner with UMS_HOME (and UMS_DATABASE_URL)
in the environment, as a user would run it. Every number printed is checked against the
store and against the simulator's own ledger file, not against the CLI's own verdict;
every message type arrives at the simulator, each in its provider's wire format (the
JSON schemas of tests/ums_pipelines/gateway_sim/schemas/).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import jsonschema
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.demo import DEMO_JOB_ID
from ums_pipelines.demo_showcase import SHOWCASE, SHOWCASE_CUSTOMERS, showcase_job_ids
from ums_pipelines.store import Store
from ums_pipelines.store.models import Customer, Job, Message

CUSTOMERS = 300
COLUMNS = [
    "channel",
    "requested",
    "sent",
    "delivered",
    "failed",
    "fell back",
    "ledger accepted",
    "ledger delivered",
    "= ledger",
]
# Issue 4's list: every channel and message type the demo must send at least once.
REQUIRED_TYPES = {
    "SMS",
    "LMS",
    "MMS",
    "INTL_SMS",
    "RCS_SMS",
    "RCS_LMS",
    "RCS_MMS",
    "RCS_TEMPLATE",
    "ALIMTALK",
    "FRIENDTALK_IMAGE",
    "BRAND",
    "FCM",
    "APNS",
    "EMAIL",
    "DM",
}
TYPES = REQUIRED_TYPES | {"FRIENDTALK_TEXT", "FRIENDTALK_WIDE"}
SCHEMAS = Path(__file__).resolve().parents[1] / "gateway_sim" / "schemas"
# The provider (and so the wire-format schema) of each message type.
SCHEMA_OF_TYPE = {
    "SMS": "sms_relay",
    "LMS": "sms_relay",
    "MMS": "sms_relay",
    "INTL_SMS": "intl_sms",
    "RCS_SMS": "rcs",
    "RCS_LMS": "rcs",
    "RCS_MMS": "rcs",
    "RCS_TEMPLATE": "rcs",
    "ALIMTALK": "alimtalk",
    "FRIENDTALK_TEXT": "friendtalk",
    "FRIENDTALK_IMAGE": "friendtalk",
    "FRIENDTALK_WIDE": "friendtalk",
    "BRAND": "brand",
    "FCM": "fcm",
    "APNS": "apns",
    "EMAIL": "email",
    "DM": "dm",
}


@dataclass
class DemoRun:
    home: Path
    exit_code: int
    output: str
    exception: BaseException | None

    @property
    def flat(self) -> str:
        """The output without line breaks, for long paths Rich may have folded."""
        return self.output.replace("\n", "")

    def report_path(self) -> Path:
        found = re.search(r"HTML report +(\S+\.html)", self.flat)
        assert found, self.output
        return Path(found.group(1))

    def table(self) -> dict[str, dict[str, Any]]:
        """The per-channel table, rows by message type (and "total")."""
        rows: dict[str, dict[str, Any]] = {}
        header: list[str] | None = None
        for line in self.output.splitlines():
            if "│" not in line and "┃" not in line:
                continue
            cells = [c.strip() for c in line.replace("┃", "│").strip("│ ").split("│")]
            if cells[0] == "channel":
                header = cells
                continue
            assert header == COLUMNS, header
            row: dict[str, Any] = dict(zip(header, cells, strict=True))
            for name in COLUMNS[1:-1]:
                row[name] = int(row[name])
            rows[row["channel"]] = row
        return rows


def run_demo(
    home: Path, night_rules: Callable[[], dict[str, str]], database_url: str | None = None
) -> DemoRun:
    """``ums demo`` with the night rules away from now (``night_rules_env``): the showcase's
    FriendTalk and brand message would be held from 20:00 KST, and the tests expect every
    type delivered whenever the suite runs."""
    env = {"UMS_HOME": str(home), "UMS_DATABASE_URL": database_url, "COLUMNS": "160"}
    env |= night_rules()
    result = CliRunner().invoke(app, ["demo", "--customers", str(CUSTOMERS)], env=env)
    return DemoRun(home, result.exit_code, result.output, result.exception)


def demo_jobs(url: str) -> list[str]:
    """The bulk job and the standing jobs the showcase's real-time requests went to."""
    store = Store(url)
    try:
        return [DEMO_JOB_ID, *showcase_job_ids(store)]
    finally:
        store.dispose()


def _demo_keys(jobs: list[str]) -> tuple[str, list[str]]:
    where = " or ".join("client_key like ?" for _ in jobs)
    return f"({where})", [f"{j}.%" for j in jobs]


def ledger_rows(home: Path, jobs: list[str]) -> list[tuple[Any, ...]]:
    """Every row the simulator accepted for the demo jobs, straight from its ledger file."""
    where, keys = _demo_keys(jobs)
    with sqlite3.connect(home / "gateway-sim" / "ledger.db") as conn:
        return conn.execute(
            f"select * from messages where {where} order by seq",
            keys,
        ).fetchall()


def ledger_by_type(home: Path, jobs: list[str]) -> dict[str, tuple[int, int]]:
    where, keys = _demo_keys(jobs)
    with sqlite3.connect(home / "gateway-sim" / "ledger.db") as conn:
        rows = conn.execute(
            "select type, count(*), sum(outcome = 'delivered') from messages"
            f" where {where} group by type",
            keys,
        ).fetchall()
    return {t: (int(n), int(d)) for t, n, d in rows}


def store_by_type(url: str, jobs: list[str]) -> dict[str, Counter[str]]:
    store = Store(url)
    out: dict[str, Counter[str]] = {}
    try:
        with store.session() as session:
            query = (
                select(
                    Message.message_type,
                    Message.state,
                    Message.submitted_at.is_not(None),
                    func.count(),
                )
                .where(Message.job_id.in_(jobs))
                .group_by(Message.message_type, Message.state, Message.submitted_at.is_not(None))
            )
            for mtype, state, sent, n in session.execute(query):
                c = out.setdefault(mtype, Counter())
                c["requested"] += n
                c["sent"] += n if sent else 0
                c[state] += n
    finally:
        store.dispose()
    return out


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'ums.db'}"


def assert_reconciled(run: DemoRun, url: str) -> dict[str, dict[str, Any]]:
    assert run.exit_code == 0, (run.output, run.exception)
    table = run.table()
    assert set(table) - {"total"} <= TYPES and "total" in table
    assert set(table) >= REQUIRED_TYPES, REQUIRED_TYPES - set(table)
    assert all(row["= ledger"] == "yes" for row in table.values()), table
    assert "Every count equals the simulator's ledger." in run.output

    # The printed numbers are the store's, and the store's are the ledger's.
    jobs = demo_jobs(url)
    assert len(jobs) == 1 + len({s.template for s in SHOWCASE}), jobs
    stored, ledger = store_by_type(url, jobs), ledger_by_type(run.home, jobs)
    assert set(ledger) == {t for t, r in table.items() if t != "total" and r["sent"]}
    for mtype, row in table.items():
        if mtype == "total":
            continue
        counts = stored[mtype]
        assert row["requested"] == counts["requested"], mtype
        assert row["sent"] == counts["sent"] == ledger.get(mtype, (0, 0))[0], mtype
        assert row["delivered"] == counts["delivered"] == ledger.get(mtype, (0, 0))[1], mtype
        assert row["failed"] == counts["failed"], mtype
        assert (row["ledger accepted"], row["ledger delivered"]) == ledger.get(mtype, (0, 0))
    for name in COLUMNS[1:-1]:
        assert table["total"][name] == sum(r[name] for k, r in table.items() if k != "total")
    # Every message ended somewhere, and the job knows it is done.
    states = Counter[str]()
    for counts in stored.values():
        states.update({k: v for k, v in counts.items() if k not in ("requested", "sent")})
    assert table["total"]["requested"] == states.total()
    in_flight = {"queued", "claimed", "submitted", "accepted"}
    assert not any(c[s] for c in stored.values() for s in in_flight), stored
    store = Store(url)
    try:
        with store.session() as session:
            job = session.get(Job, DEMO_JOB_ID)
            assert job is not None and job.status == "done"
            customers = session.scalar(select(func.count()).select_from(Customer))
            assert customers == CUSTOMERS + len(SHOWCASE_CUSTOMERS)
    finally:
        store.dispose()

    report = run.report_path()
    assert report.parent == run.home / "reports" / "daily"
    assert report.is_file() and report.stat().st_size > 0
    return table


@pytest.fixture(scope="module")
def first_run(
    tmp_path_factory: pytest.TempPathFactory, night_rules_env: Callable[[], dict[str, str]]
) -> DemoRun:
    return run_demo(tmp_path_factory.mktemp("demo") / "home", night_rules_env)


@pytest.fixture(scope="module")
def second_run(
    first_run: DemoRun, night_rules_env: Callable[[], dict[str, str]]
) -> tuple[DemoRun, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    jobs = demo_jobs(sqlite_url(first_run.home))
    before = ledger_rows(first_run.home, jobs)
    again = run_demo(first_run.home, night_rules_env)
    return again, before, ledger_rows(first_run.home, demo_jobs(sqlite_url(first_run.home)))


def test_demo_prints_a_per_channel_table_reconciled_with_the_ledger(first_run: DemoRun) -> None:
    table = assert_reconciled(first_run, sqlite_url(first_run.home))

    assert f"customers: {CUSTOMERS} synthetic customers written to the inbox" in first_run.output
    assert f"job {DEMO_JOB_ID}: registered" in first_run.output
    total = table["total"]
    # 300 customers (and the showcase's 3), a few suppressed (deceased, opted out),
    # AlimTalk falling back to SMS, plus one real-time message per showcase request.
    bulk = total["requested"] - total["fell back"] - len(SHOWCASE)
    assert 250 <= bulk <= CUSTOMERS + len(SHOWCASE_CUSTOMERS)
    assert total["fell back"] > 0 and total["sent"] > 0
    assert table["ALIMTALK"]["fell back"] == table["ALIMTALK"]["failed"] > 0
    assert "did not pass" not in first_run.output  # every asset check passed
    assert f"DAGSTER_HOME={first_run.home / 'dagster'}" in first_run.flat
    assert (
        f"showcase  {len(SHOWCASE)} of {len(SHOWCASE)} real-time requests new" in first_run.output
    )


def test_every_type_arrives_in_its_providers_wire_format(first_run: DemoRun) -> None:
    """Issue 4, done when 2: one message at least of every channel and type reached the
    simulator, and what the provider received matches that provider's JSON schema."""
    assert first_run.exit_code == 0, (first_run.output, first_run.exception)
    validators = {}
    for name in set(SCHEMA_OF_TYPE.values()):
        schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[name] = jsonschema.Draft202012Validator(schema)
    jobs = demo_jobs(sqlite_url(first_run.home))
    where, keys = _demo_keys(jobs)
    with sqlite3.connect(first_run.home / "gateway-sim" / "ledger.db") as conn:
        rows = conn.execute(
            f"select client_key, type, wire from messages where {where}",
            keys,
        ).fetchall()
    seen = Counter(kind for _, kind, _ in rows)
    assert set(seen) >= REQUIRED_TYPES, REQUIRED_TYPES - set(seen)
    for key, kind, wire in rows:
        assert wire is not None, (key, kind)
        errors = [e.message for e in validators[SCHEMA_OF_TYPE[kind]].iter_errors(json.loads(wire))]
        assert not errors, (key, kind, errors[:3])
    # The showcase's parts went along: the image, the attachment, the letter's address.
    wires = {kind: json.loads(w) for key, kind, w in rows if not key.startswith(DEMO_JOB_ID)}
    assert len(wires["MMS"]["fileIds"]) == 1
    assert wires["FRIENDTALK_IMAGE"]["image"]["imageUrl"]
    assert wires["RCS_TEMPLATE"]["messagebaseId"] == "UBR.ums-deposit-01"
    assert wires["EMAIL"]["attachments"][0]["filename"] == "거래내역서.pdf"
    assert wires["INTL_SMS"]["country"] == "US"


def test_the_reports_name_every_channel_and_type_sent(first_run: DemoRun) -> None:
    assert first_run.exit_code == 0, first_run.output
    db = duckdb.connect(str(first_run.home / "analytics" / "ums.duckdb"), read_only=True)
    try:
        rows = db.execute(
            "select channel, message_type, channel_name_ko, message_type_name_ko"
            " from dim_channel join (select distinct channel, message_type from fct_messages)"
            " using (channel, message_type)"
        ).fetchall()
    finally:
        db.close()
    assert {r[1] for r in rows} >= REQUIRED_TYPES
    unnamed = [r for r in rows if r[2] == r[0] or r[3] == r[1]]
    assert not unnamed, unnamed


def test_a_second_run_sends_nothing_twice(
    first_run: DemoRun,
    second_run: tuple[DemoRun, list[tuple[Any, ...]], list[tuple[Any, ...]]],
) -> None:
    again, before, after = second_run

    assert again.exit_code == 0, (again.output, again.exception)
    assert "customers: already in the store, none generated" in again.output
    assert f"job {DEMO_JOB_ID}: already complete" in again.output
    assert "No message sent twice" in again.output
    assert before and after == before  # not one ledger row added or changed
    assert again.table() == first_run.table()
    assert_reconciled(again, sqlite_url(again.home))


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_demo_on_postgresql_reconciles(
    store_url: str, tmp_path: Path, night_rules_env: Callable[[], dict[str, str]]
) -> None:
    run = run_demo(tmp_path / "home", night_rules_env, database_url=store_url)

    assert "store    postgresql+psycopg://" in run.output
    assert_reconciled(run, store_url)
    assert not (tmp_path / "home" / "ums.db").exists()  # nothing went to the SQLite default


def test_at_night_the_demo_says_what_the_night_rule_holds_and_does_not_wait(
    tmp_path: Path, night_rules_env: Callable[..., dict[str, str]]
) -> None:
    """Run in the Korean evening, the showcase's FriendTalk and brand message are held
    until the ban ends: the demo says so, and does not wait its minute for them."""
    night = night_rules_env(-1, 3)  # both bans from an hour ago to 3 hours from now
    end = night["UMS_AD_NIGHT_END"]
    run = run_demo(tmp_path / "home", lambda: night)

    assert run.exit_code == 0, run.output
    assert f"held by the advertising night rule: brand, friendtalk until {end} Korea" in run.flat
    assert "still in flight" not in run.output
    showcase = re.search(r"one of every channel and type +([0-9.]+) s", run.flat)
    assert showcase and float(showcase.group(1)) < 55, run.output  # not the 60-s wait
    table = run.table()
    assert (table["BRAND"]["requested"], table["BRAND"]["sent"]) == (1, 0)
    assert (table["FRIENDTALK_IMAGE"]["requested"], table["FRIENDTALK_IMAGE"]["sent"]) == (1, 0)


def test_the_cli_loads_no_polars_before_a_command_needs_it() -> None:
    """Polars' runtime takes SIGINT over: a CLI importing it at start (the demo's showcase
    did) left `ums gateway-sim` deaf to Ctrl-C."""
    code = "import sys, ums_pipelines.cli; print('polars' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"


# --- the report page in a real browser -------------------------------------------------

_BROWSER_HELPERS = "ums_test_report_browser_helpers"


def _browser() -> ModuleType:
    """The Chromium helpers of tests/reports/test_report_browser.py, loaded by path."""
    if _BROWSER_HELPERS in sys.modules:
        return sys.modules[_BROWSER_HELPERS]
    path = Path(__file__).resolve().parents[2] / "reports" / "test_report_browser.py"
    spec = importlib.util.spec_from_file_location(_BROWSER_HELPERS, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_BROWSER_HELPERS] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.browser
def test_demo_report_in_headless_chromium(
    first_run: DemoRun, tmp_path: Path, chromium: str
) -> None:
    browser = _browser()
    assert first_run.exit_code == 0, first_run.output
    url = first_run.report_path().resolve().as_uri()

    png = tmp_path / "demo-report.png"
    width, height = browser.WIDTH, browser.HEIGHT
    browser._run_chromium(
        chromium, tmp_path, "shot", f"--screenshot={png}", f"--window-size={width},{height}", url
    )
    shot_w, shot_h, colours = browser._read_png(png)
    assert (shot_w, shot_h) == (width, height)
    assert len(colours) >= 8, "the screenshot is (nearly) one flat colour"
    assert colours.most_common(1)[0][1] / sum(colours.values()) < 0.97
    # The demo has deliveries, failures and AlimTalk fallbacks: all three series show.
    for name, _ko, _en, colour in browser.SERIES:
        assert browser._has_colour(colours, colour), f"no {name} bar ({colour}) on the page"

    dom = browser._run_chromium(chromium, tmp_path, "dom", "--dump-dom", url).stdout
    assert 'id="channel-table"' in dom
    assert 'id="channel-chart"' in dom
    assert dom.count('class="bar bar-delivered"') >= 3  # one per channel with traffic
    for label in ("카카오 알림톡", "앱 푸시", "문자"):
        assert label in dom, label
