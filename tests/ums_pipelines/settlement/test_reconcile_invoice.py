"""Invoice reconciliation: a provider invoice with planted differences lists exactly
those differences; a clean one lists none; bad files name the line and field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ums_pipelines.settlement import InvoiceError, read_detail, read_invoice, reconcile

MARCH = datetime(2026, 3, 12, 1, 0, tzinfo=UTC)
APRIL_KST = datetime(2026, 3, 31, 15, 1, tzinfo=UTC)
HEADER = "provider,month,message_type,count,unit_price,amount\n"


@pytest.fixture
def sent(bank: Any, job_in: Any, seed_rows: Any) -> dict[str, list[str]]:
    card, test_job = job_in("card"), job_in("card", "test")
    return {
        "sms": seed_rows(card, 18, at=MARCH) + seed_rows(test_job, 2, at=MARCH),
        "lms": seed_rows(card, 5, at=MARCH, message_type="LMS", unit_price=Decimal(30)),
        "failed": seed_rows(card, 2, at=MARCH, state="failed"),
        "april": seed_rows(card, 1, at=APRIL_KST),
        "other_provider": seed_rows(card, 3, at=MARCH, provider="sim-lgu"),
    }


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def summary(tmp_path: Path, sms: tuple[int, str, str], lms: tuple[int, str, str]) -> Path:
    rows = [f"sim-sms,2026-03,SMS,{sms[0]},{sms[1]},{sms[2]}"]
    rows.append(f"sim-sms,2026-03,LMS,{lms[0]},{lms[1]},{lms[2]}")
    return write(tmp_path, "invoice.csv", HEADER + "\n".join(rows) + "\n")


def detail(tmp_path: Path, lines: list[tuple[str, str, str]]) -> Path:
    body = "".join(f"{k},{t},{a}\n" for k, t, a in lines)
    return write(tmp_path, "detail.csv", "message_key,message_type,amount\n" + body)


def run(bank: Any, invoice: Path, detail_file: Path | None = None) -> Any:
    lines = read_invoice(invoice, "sim-sms", "2026-03")
    rows = read_detail(detail_file) if detail_file else None
    return reconcile(bank.store, bank.settings, "sim-sms", "2026-03", lines, rows)


def clean_detail(sent: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    return [(k, "SMS", "9.9") for k in sent["sms"]] + [(k, "LMS", "30") for k in sent["lms"]]


def test_clean_invoice_has_no_differences(bank: Any, sent: Any, tmp_path: Path) -> None:
    invoice = summary(tmp_path, (20, "9.9", "198"), (5, "30", "150"))
    result = run(bank, invoice, detail(tmp_path, clean_detail(sent)))
    assert result.matches and result.differences == []
    assert [(t.message_type, t.delivered, t.billed) for t in result.types] == [
        ("LMS", 5, 5),
        ("SMS", 20, 20),  # test sends are billed by the provider too
    ]
    assert run(bank, invoice).matches  # the summary alone agrees as well


def test_planted_differences_are_listed_exactly(bank: Any, sent: Any, tmp_path: Path) -> None:
    sms = sent["sms"]
    lines = clean_detail(sent)
    lines = [row for row in lines if row[0] != sms[0]]  # delivered, not billed
    lines += [(k, "SMS", "9.9") for k in sent["failed"]]  # failed on our side, billed
    lines.append((sms[1], "SMS", "9.9"))  # billed twice
    lines = [(k, t, "11" if k == sms[2] else a) for k, t, a in lines]  # another price
    # The summary agrees with its detail, but for LMS: 3 more than were sent.
    invoice = summary(tmp_path, (22, "9.9", "218.9"), (8, "30", "240"))
    result = run(bank, invoice, detail(tmp_path, lines))
    got = sorted(
        (d.kind, d.message_type, d.message_key, d.ours, d.billed) for d in result.differences
    )
    assert got == sorted(
        [
            ("count", "LMS", None, "5", "8"),
            ("price", "SMS", sms[2], "9.9", "11"),
            ("billed_not_delivered", "SMS", sent["failed"][0], "failed", "9.9"),
            ("billed_not_delivered", "SMS", sent["failed"][1], "failed", "9.9"),
            ("billed_twice", "SMS", sms[1], None, "9.9"),
            ("delivered_not_billed", "SMS", sms[0], "9.9", None),
        ]
    )
    assert not result.matches


def test_summary_only_lists_type_differences(bank: Any, sent: Any, tmp_path: Path) -> None:
    invoice = summary(tmp_path, (20, "10", "200"), (8, "30", "240"))
    got = [
        (d.kind, d.message_type, d.ours, d.billed, d.line) for d in run(bank, invoice).differences
    ]
    assert got == [("count", "LMS", "5", "8", 3), ("unit_price", "SMS", "9.9", "10", 2)]
    # A line whose amount is not its count at its price; a type we never sent.
    invoice = write(
        tmp_path,
        "b.csv",
        HEADER + "sim-sms,2026-03,SMS,20,9.9,250\n"
        "sim-sms,2026-03,LMS,5,30,150\nsim-sms,2026-03,MMS,1,100,100\n",
    )
    got = [(d.kind, d.message_type, d.ours, d.billed) for d in run(bank, invoice).differences]
    assert got == [("count", "MMS", "0", "1"), ("amount", "SMS", "198", "250")]


def test_other_month_and_wrong_type(bank: Any, sent: Any, tmp_path: Path) -> None:
    lines = clean_detail(sent)
    lines.append((sent["april"][0], "SMS", "9.9"))  # delivered in April (KST)
    lines = [
        (k, "LMS" if k == sent["sms"][3] else t, "30" if k == sent["sms"][3] else a)
        for k, t, a in lines
    ]
    invoice = summary(tmp_path, (20, "9.9", "198"), (6, "30", "180"))
    got = sorted(
        (d.kind, d.message_key) for d in run(bank, invoice, detail(tmp_path, lines)).differences
    )
    assert got == [("billed_other_month", sent["april"][0]), ("message_type", sent["sms"][3])]


def test_bad_files_name_line_and_field(tmp_path: Path) -> None:
    bad = write(
        tmp_path, "bad.csv", HEADER + "sim-sms,2026-03,SMS,x,9.9,10\nsim-lgu,2026-02,SMS,1,-1,abc\n"
    )
    with pytest.raises(InvoiceError) as exc:
        read_invoice(bad, "sim-sms", "2026-03")
    assert exc.value.problems == [
        "line 2: count: 'x' is not a whole number ≥ 0",
        "line 3: provider: 'sim-lgu' is not 'sim-sms'",
        "line 3: month: '2026-02' is not '2026-03'",
        "line 3: message_type: SMS already on line 2",
        "line 3: unit_price: must be 0 or more",
        "line 3: amount: 'abc' is not a number",
    ]
    with pytest.raises(InvoiceError, match="line 1: header: missing column"):
        read_invoice(write(tmp_path, "h.csv", "provider,count\n"), "p", "2026-03")
    with pytest.raises(InvoiceError, match="line 2: message_key: empty"):
        read_detail(write(tmp_path, "d.csv", "message_key,message_type,amount\n,SMS,1\n"))
