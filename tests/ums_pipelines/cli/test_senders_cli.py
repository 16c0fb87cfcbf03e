"""`ums senders add|update|deactivate|list|export|changes` from the command line."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from ums_pipelines.cli.senders import senders_app
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store

KEY = "2662e99eb7a1f21abb3955278e9955f5a9a99b62"
SEOUL = ZoneInfo("Asia/Seoul")


class Cli:
    def __init__(self, settings: Settings) -> None:
        self.env = {
            "UMS_HOME": str(settings.home),
            "UMS_DATABASE_URL": settings.store_url,
            "UMS_TIMEZONE": "Asia/Seoul",
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(senders_app, list(args), env=self.env)
        assert result.exit_code == code, result.output
        return result.output

    def json(self, *args: str) -> list[dict[str, object]]:
        data = json.loads(self(*args, "--json"))
        assert isinstance(data, list)
        return data


@pytest.fixture
def cli(settings: Settings, store: Store) -> Cli:
    return Cli(settings)


def test_add_update_deactivate_list(cli: Cli) -> None:
    out = cli(
        "add", "1588-1234", "--label", "고객센터", "--department", "고객지원부",
        "--proof", "증명원-0412", "--valid-from", "2026-01-01", "--valid-until", "2036-12-31",
    )  # fmt: skip
    assert "number 1588-1234 registered" in out
    cli("add", KEY, "--kind", "kakao_profile", "--label", "UMS은행", "--detail", '{"id": "@ums"}')
    domain_args = ("--kind", "email_domain", "--label", "메일", "--department", "총무부")
    cli("add", "umsbank.co.kr", *domain_args)

    [number, profile, domain] = cli.json("list")
    assert (number["value"], number["department"], number["status"]) == (
        "15881234",
        "고객지원부",
        "active",
    )
    # A bare date: the start of the first day and the end of the last, in Korea time.
    assert number["valid_from"] == "2026-01-01T00:00:00+09:00"
    assert number["valid_until"] == "2037-01-01T00:00:00+09:00"
    assert profile["detail"] == {"id": "@ums"}
    assert [r["value"] for r in cli.json("list", "--department", "총무부")] == [domain["value"]]

    out = cli("update", "15881234", "--proof", "증명원-0999", "--valid-until", "none")
    assert "updated: proof_ref, valid_until" in out
    cli("deactivate", KEY, "--kind", "kakao_profile")
    assert [r["kind"] for r in cli.json("list")] == ["number", "email_domain"]
    listed = {r["value"]: r for r in cli.json("list", "--all")}
    assert listed[KEY]["status"] == "inactive"
    assert listed["15881234"]["valid_until"] is None
    assert listed["15881234"]["proof_ref"] == "증명원-0999"
    cli("update", KEY, "--kind", "kakao_profile", "--activate")
    assert len(cli.json("list")) == 3
    assert "3 senders" in cli("list")


def test_export_and_change_feed(cli: Cli, tmp_path: Path) -> None:
    cli("add", "02-123-4567", "--label", "본점", "--valid-until", "2030-06-30T18:00")
    cli("add", "BR.ums-bank", "--kind", "rcs_brand", "--label", "UMS은행")
    assert "2 entries written" in cli("export", "--out", str(tmp_path / "r.csv"))
    raw = (tmp_path / "r.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [(r["kind"], r["value"], r["label"]) for r in rows] == [
        ("number", "021234567", "본점"),
        ("rcs_brand", "BR.ums-bank", "UMS은행"),
    ]
    until = datetime(2030, 6, 30, 18, 0, tzinfo=SEOUL)
    assert datetime.fromisoformat(rows[0]["valid_until"]) == until
    cli("export", "--out", str(tmp_path / "r.json"))
    assert len(json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))) == 2

    feed = cli.json("changes")
    assert [c["action"] for c in feed] == ["sender_number.registered", "sender.registered"]
    last = feed[-1]["id"]
    assert isinstance(last, int)
    assert f"next poll: --after {last}" in cli("changes")
    cli("update", "021234567", "--label", "본점 영업부")
    [change] = cli.json("changes", "--after", str(last))
    assert change["before"]["label"] == "본점"  # type: ignore[index]
    assert change["after"]["label"] == "본점 영업부"  # type: ignore[index]
    assert "label" in cli("changes", "--after", str(last))


def test_bad_input_exits_2_naming_the_field(cli: Cli, tmp_path: Path) -> None:
    assert "sender_number: '1234567'" in cli("add", "1234567", "--label", "x", code=2)
    assert "sender_key: " in cli("add", "abc", "--kind", "kakao_profile", "--label", "x", code=2)
    out = cli("add", "15881234", "--label", "x", "--valid-from", "tomorrow", code=2)
    assert "--valid-from: 'tomorrow' is not an ISO date or time" in out
    assert "--detail: a JSON object" in cli(
        "add", "BR.x", "--kind", "rcs_brand", "--label", "x", "--detail", "[1]", code=2
    )
    cli("add", "15881234", "--label", "x")
    assert "already registered" in cli("add", "1588-1234", "--label", "y", code=2)
    assert "nothing to change" in cli("update", "15881234", code=2)
    assert "is not registered" in cli("deactivate", "15889999", code=2)
    assert "must end in .csv or .json" in cli("export", "--out", str(tmp_path / "r.txt"), code=2)
    assert "after_id: -1" in cli("changes", "--after", "-1", code=2)
