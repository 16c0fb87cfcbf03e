"""`ums message check`: the issue's contract (JSON shape, exit codes 0/1/2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ums_pipelines.cli import app

CONTRACT_KEYS = {"ok", "channel", "message_type", "bytes", "chars", "violations"}


def ums(*args: str) -> Any:
    return CliRunner().invoke(app, ["message", "check", *args])


def as_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = ums(*args, "--json")
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize(
    ("args", "code", "message_type", "size", "chars"),
    [
        (["--channel", "sms", "--text", "가" * 45], 0, "SMS", 90, 45),
        (["--channel", "sms", "--text", "가" * 45 + "a"], 0, "LMS", 91, 46),
        (["--channel", "sms", "--text", "가" * 44 + "a"], 0, "SMS", 89, 45),
        (["--channel", "sms", "--text", "안내", "--subject", "제목"], 0, "LMS", 4, 2),
        (["--channel", "lms", "--text", "가" * 1000], 0, "LMS", 2000, 1000),
        (["--channel", "lms", "--text", "가" * 1000 + "a"], 1, "LMS", 2001, 1001),
        (["--channel", "mms", "--text", "사진"], 0, "MMS", 4, 2),
        (["--channel", "rcs", "--text", "a" * 101], 0, "RCS_LMS", 101, 101),
        (["--channel", "alimtalk", "--text", "#{이름}님 입금"], 0, "ALIMTALK", 19, 9),
        (["--channel", "friendtalk", "--text", "가" * 1001], 1, "FRIENDTALK_TEXT", 3003, 1001),
        (["--channel", "brand", "--text", "혜택 무료수신거부 080-123-4567"], 0, "BRAND", 38, 22),
        (["--channel", "push", "--text", "입금 알림"], 0, "FCM", 13, 5),
        (["--channel", "email", "--text", "명세서"], 0, "EMAIL", 9, 3),
        (["--channel", "dm", "--text", "안내문"], 0, "DM", 9, 3),
    ],
)
def test_json_contract_and_exit_code(
    args: list[str], code: int, message_type: str, size: int, chars: int
) -> None:
    exit_code, out = as_json(*args)
    assert set(out) == CONTRACT_KEYS
    assert exit_code == code
    assert out["ok"] is (code == 0)
    assert out["channel"] == args[1]
    assert (out["message_type"], out["bytes"], out["chars"]) == (message_type, size, chars)
    assert all(set(v) == {"code", "message"} for v in out["violations"])
    assert bool(out["violations"]) is (code == 1)


def test_violation_names_field_and_reason() -> None:
    exit_code, out = as_json("--channel", "sms", "--text", "가" * 1000 + "a")
    assert exit_code == 1
    assert out["violations"] == [
        {
            "code": "BODY_TOO_LONG",
            "message": "text: 2,001 bytes in EUC-KR, an LMS carries 2,000 at most",
        }
    ]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--channel", "sms", "--text", "안녕 😀"], "NOT_CP949"),
        (["--channel", "sms", "--text", "안내", "--subject", "가" * 21], "SUBJECT_TOO_LONG"),
        (
            ["--channel", "alimtalk", "--text", "혜택 안내", "--purpose", "ad"],
            "PURPOSE_NOT_ALLOWED",
        ),
        (["--channel", "friendtalk", "--text", "혜택", "--purpose", "info"], "PURPOSE_NOT_ALLOWED"),
        (["--channel", "sms", "--text", "[광고] 혜택", "--purpose", "ad"], "AD_LABEL_MISSING"),
        (["--channel", "rcs", "--text", "(광고) 혜택", "--purpose", "ad"], "AD_OPTOUT_MISSING"),
        (["--channel", "brand", "--text", "(광고) 혜택"], "AD_OPTOUT_MISSING"),
        (["--channel", "push", "--text", "가" * 1500], "PUSH_TOO_LARGE"),
        (["--channel", "sms", "--text", " "], "TEXT_EMPTY"),
    ],
)
def test_violations_exit_1(args: list[str], code: str) -> None:
    exit_code, out = as_json(*args)
    assert exit_code == 1
    assert out["ok"] is False
    assert code in {v["code"] for v in out["violations"]}


def test_file_input_drops_the_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "msg.txt"
    path.write_text("가" * 45 + "\n", encoding="utf-8")
    exit_code, out = as_json("--channel", "sms", "--file", str(path))
    assert (exit_code, out["message_type"], out["bytes"]) == (0, "SMS", 90)
    path.write_text("가" * 45 + "\n\n", encoding="utf-8")  # a blank line is text
    exit_code, out = as_json("--channel", "sms", "--file", str(path))
    assert (exit_code, out["message_type"], out["bytes"]) == (0, "LMS", 91)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--channel", "fax", "--text", "x"], "--channel"),
        (["--channel", "sms"], "exactly one of --text or --file"),
        (["--channel", "sms", "--text", "x", "--file", "x.txt"], "exactly one"),
        (["--channel", "sms", "--file", "/nonexistent/msg.txt"], "does not exist"),
        (["--channel", "sms", "--text", "x", "--purpose", "marketing"], "--purpose"),
    ],
)
def test_bad_input_exit_2_with_a_clear_message(args: list[str], needle: str) -> None:
    result = ums(*args, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert needle in result.stderr


def test_unreadable_and_non_utf8_files_are_bad_input(tmp_path: Path) -> None:
    latin = tmp_path / "cp949.txt"
    latin.write_bytes("입금".encode("cp949"))
    result = ums("--channel", "sms", "--file", str(latin))
    assert result.exit_code == 2 and "not UTF-8" in result.stderr
    result = ums("--channel", "sms", "--file", str(tmp_path))  # a directory
    assert result.exit_code == 2 and "--file" in result.stderr


def test_table_output_without_json() -> None:
    result = ums("--channel", "sms", "--text", "안녕 😀")
    assert result.exit_code == 1
    assert "NOT_CP949" in result.stdout and "U+1F600" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def test_installed_command_prints_exactly_one_json_object() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ums")), "message", "check", "--channel", "sms",
         "--text", "가" * 46, "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "ok": True,
        "channel": "sms",
        "message_type": "LMS",
        "bytes": 92,
        "chars": 46,
        "violations": [],
    }
