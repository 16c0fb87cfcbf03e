"""`ums content preview` (the command function, mounted on a throwaway Typer app here):
the page written, a masked summary, exit codes 0/1/2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from ums_pipelines.cli.content_preview import preview
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Purpose

VARIANTS = (
    ChannelVariant("sms", "[UMS은행] {{ name }}님 업무 처리 완료"),
    ChannelVariant("push", "{{ name }}님 업무 처리 완료", "거래 안내"),
    ChannelVariant("email", "{{ name }}님, 처리되었습니다.", "[UMS은행] 거래 안내"),
)
ROUTES = {"push": ["push", "sms"], "email": ["email", "sms"], "sms": ["sms"]}


def _ums(bank: Any, *args: str) -> Any:
    app = typer.Typer()
    app.command()(preview)
    env = {"UMS_HOME": str(bank.settings.home), "UMS_DATABASE_URL": bank.settings.store_url}
    return CliRunner().invoke(app, list(args), env=env)


def test_preview_writes_the_page_and_a_masked_summary(bank: Any, tmp_path: Path) -> None:
    bank.add_customer(
        "C1", phone="01012345678", email="kim@example.com", push_token="tok-123456789"
    )
    job_id = bank.register("job-cli", template_code="tx", variants=VARIANTS, routes=ROUTES)
    out = tmp_path / "out" / "preview.html"

    done = _ums(bank, "tx", "--customer", "C1", "--job", job_id, "--out", str(out))
    assert done.exit_code == 0, done.output
    page = out.read_text(encoding="utf-8")
    assert 'id="c0-variant-sms"' in page and 'id="c0-chain1-leg1"' in page
    assert "33 / 90 bytes (SMS)" in page and "33 / 90 bytes (SMS)" in done.output
    assert "김*수" in done.output and "김민수" not in done.output
    assert "01012345678" not in done.output and "kim@example.com" not in done.output
    assert "8 legs, 0 with violations or errors" in done.output  # 3 variants + 2+2+1 legs

    given = _ums(
        bank, "tx", "-c", "C1", "--chain", "push,sms", "--chain", "email, sms", "-o", str(out)
    )
    assert given.exit_code == 0, given.output
    page = out.read_text(encoding="utf-8")
    assert "push → sms" in page and "email → sms" in page and 'id="c0-chain2-leg0"' not in page


def test_violations_exit_1_and_bad_input_exit_2(bank: Any, tmp_path: Path) -> None:
    bank.add_customer("C1")
    bank.register("job-ad", template_code="ad", variants=VARIANTS[:1], routes={"sms": ["sms"]},
                  purpose=Purpose.ADVERTISING)  # fmt: skip
    out = tmp_path / "ad.html"
    flagged = _ums(bank, "ad", "--customer", "C1", "--out", str(out))
    assert flagged.exit_code == 1, flagged.output
    assert "1 legs, 1 with violations or errors" in flagged.output
    assert "(광고)" in out.read_text(encoding="utf-8")  # the missing label, in the page

    for args, reason in (
        (["nope", "-c", "C1"], "code: no content item 'nope'"),
        (["ad", "-c", "C9"], "customer_ids: no customer 'C9'"),
        (["ad", "-c", "C1", "--chain", "sms,,push"], "--chain[0]"),
        (["ad", "-c", "C1", "--chain", "push"], "chains[0]: the content item has no 'push'"),
        (["ad", "-c", "C1", "--version", "4"], "version: content item 'ad' has no version 4"),
    ):
        bad = _ums(bank, *args, "--out", str(tmp_path / "x.html"))
        assert bad.exit_code == 2, (args, bad.output)
        assert reason in bad.output
    assert not (tmp_path / "x.html").exists()
