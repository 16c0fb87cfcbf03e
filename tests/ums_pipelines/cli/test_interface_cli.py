"""`ums interface check|quarantine|replay`: field-by-field output, exit codes, masking,
and replaying a quarantined row (validated again, ordering rule, audited, kept)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from ums_pipelines.cli import app
from ums_pipelines.customers import quarantined_rows, sync_inbox
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import AuditLog, Customer

LAYOUT = Path(__file__).resolve().parents[3] / "layouts" / "customer_v1.yaml"
RRN = "9001011234567"
CSV = (
    "customer_id,changed_at,name,phone,consent_sms_ad\n"
    "C1,2024-05-01T09:00:00,김민수,010-1234-5678,Y\n"
    "C2,2024-05-01T09:00:00,이영희,010-12,N\n"
    "C3,2024-05-01T09:00:00,박철수,010-3333-4444,maybe\n"
    "broken\n"
)


def env(settings: Settings, **more: str) -> dict[str, str]:
    return {
        "UMS_HOME": str(settings.home),
        "UMS_DATABASE_URL": settings.store_url,
        "COLUMNS": "250",
        **more,
    }


def run(settings: Settings, *args: str, **more: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["interface", *args], env=env(settings, **more))
    return result.exit_code, result.output


def pad(text: str, size: int) -> bytes:
    data = text.encode("cp949")
    return data + b" " * (size - len(data))


def record(cid: str, at: str, name: str, phone: str) -> bytes:
    return (
        b"D"
        + pad(cid, 10)
        + pad(at, 14)
        + pad(name, 20)
        + pad(phone, 11)
        + b" " * 31
        + pad(RRN, 13)
    )


def fixed(tmp_path: Path, *records: bytes) -> Path:
    path = tmp_path / "CUST_1.dat"
    lines = [pad("H20240502", 100), *records, pad(f"T{len(records):09d}", 100)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_check_shows_each_field_masked_with_its_error(settings: Settings, tmp_path: Path) -> None:
    path = fixed(
        tmp_path,
        record("F1", "20240501090000", "김민수", "01012345678"),
        record("F2", "2024050109XX00", "이영희", "01022223333"),
    )
    code, out = run(settings, "check", str(path), "--layout", str(LAYOUT))
    assert code == 1, out
    assert "2 records, 1 valid, 1 invalid" in out
    assert "line 2: ok" in out and "line 3: invalid" in out
    assert "changed_at: does not match the layout format %Y%m%d%H%M%S" in out
    assert "bytes 26-45" in out and "2024-05-01T09:00:00+09:00" in out
    assert "김*수" in out and "010-****-5678" in out and "(ignored)" in out
    for secret in ("김민수", "이영희", "01012345678", "1234-5678", RRN, "1234567"):
        assert secret not in out, secret

    code, out = run(
        settings, "check", str(path), "--layout", str(LAYOUT), "--errors-only", "--json"
    )
    body = json.loads(out)
    assert code == 1 and (body["records"], body["invalid"]) == (2, 1)
    [row] = body["rows"]
    fields = {f["field"]: f for f in row["fields"]}
    assert fields["changed_at"]["error"].startswith("changed_at: does not match")
    assert fields["name"]["raw"] == "이*희" and fields["rrn"]["ignored"] is True


def test_check_exit_codes(settings: Settings, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes("customer_id,changed_at,name\nC1,2024-05-01T09:00:00,김민수\n".encode("cp949"))
    code, out = run(settings, "check", str(good))
    assert code == 0 and "csv, cp949; 1 records, 1 valid, 0 invalid" in out

    bad = tmp_path / "bad.csv"
    bad.write_text(CSV, encoding="utf-8-sig")
    code, out = run(settings, "check", str(bad))
    assert code == 1
    assert (
        "phone: not a Korean mobile number" in out and "row has 1 fields, the header has 5" in out
    )
    assert "consent_sms_ad: must be Y or N" in out and "이영희" not in out

    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    code, out = run(settings, "check", str(empty))
    assert code == 2 and "unparseable" in out and "empty" in out

    layout = tmp_path / "overlap.yaml"
    layout.write_text(
        "name: o\nrecord_length: 30\nfields:\n"
        "  - {name: customer_id, start: 1, length: 10}\n"
        "  - {name: changed_at, start: 5, length: 14}\n",
        encoding="utf-8",
    )
    code, out = run(settings, "check", str(good), "--layout", str(layout))
    assert code == 2 and "fields[1] (changed_at): bytes 5-18 overlap customer_id" in out

    code, out = run(settings, "check", str(tmp_path / "cust.dat"))
    assert code == 2


def test_check_shows_personal_data_only_to_a_named_actor_and_audits_it(
    store: Store, settings: Settings, tmp_path: Path, grant: Callable[..., None]
) -> None:
    grant("kim.ops", "operator")
    path = tmp_path / "cust.jsonl"
    line = {"customer_id": "J1", "changed_at": "2024-05-01T09:00:00", "name": "김민수"}
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    code, out = run(settings, "check", str(path), "--show-personal-data", UMS_ACTOR="")
    assert code == 2 and "needs --actor" in out
    code, out = run(settings, "check", str(path), "--show-personal-data", "--actor", "nobody")
    assert code == 1 and "refused" in out and "김민수" not in out
    code, out = run(settings, "check", str(path), "--show-personal-data", "--actor", "kim.ops")
    assert code == 0 and "김민수" in out
    with store.session() as session:
        [entry] = session.scalars(
            select(AuditLog).where(AuditLog.action == "interface.check.unmasked")
        )
        assert (entry.actor, entry.entity_id) == ("kim.ops", "cust.jsonl")


def synced(store: Store, settings: Settings) -> dict[int, int]:
    """Sync CSV; the quarantined rows' ids by line."""
    settings.customer_inbox.mkdir(parents=True, exist_ok=True)
    (settings.customer_inbox / "cust.csv").write_text(CSV, encoding="utf-8")
    sync_inbox(store, settings)
    return {q.line_no: q.id for q in quarantined_rows(store) if q.id is not None}


def test_quarantine_lists_rows_masked(store: Store, settings: Settings) -> None:
    ids = synced(store, settings)
    code, out = run(settings, "quarantine", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["line"], r["field"], r["customer_id"]) for r in rows] == [
        (3, "phone", "C2"),
        (4, "consent_sms_ad", "C3"),
        (5, None, None),
    ]
    assert rows[0]["raw"].startswith("C2,2024-05-01T09:00:00,이*희,")
    assert "이영희" not in out and "박철수" not in out and "3333-4444" not in out
    code, out = run(settings, "quarantine", "--file", "999", "--json")
    assert json.loads(out) == []
    code, out = run(settings, "quarantine")
    assert code == 0 and "3 quarantined row(s)" in out and str(ids[3]) in out


def test_replay_applies_a_corrected_row_once_and_audits_it(
    store: Store, settings: Settings, grant: Callable[..., None]
) -> None:
    grant("kim.ops", "operator")
    grant("lee", "operator")
    ids = synced(store, settings)
    row = str(ids[3])

    code, out = run(settings, "replay", row, "--set", "phone=010-2222-3333", "--actor", "nobody")
    assert code == 1 and "refused" in out
    with store.session() as session:
        assert session.get(Customer, "C2") is None
        denied = session.scalars(select(AuditLog).where(AuditLog.action == "access.denied"))
        assert [d.actor for d in denied] == ["nobody"]

    code, out = run(settings, "replay", row, "--set", "phone=010-2", "--actor", "kim.ops")
    assert code == 1 and "still invalid" in out and "phone: not a Korean mobile number" in out

    code, out = run(settings, "replay", row, "--set", "phone=010-2222-3333", "--actor", "kim.ops")
    assert code == 0, out
    assert f"row {row} replayed" in out and "applied to customer C2" in out and "phone" in out
    with store.session() as session:
        c2 = session.get(Customer, "C2")
        assert c2 is not None and (c2.name, c2.phone) == ("이영희", "01022223333")
        [entry] = session.scalars(
            select(AuditLog).where(AuditLog.action == "customer.quarantine.replayed")
        )
        assert (entry.actor, entry.entity_id) == ("kim.ops", row)
        assert entry.detail["corrected"] == ["phone"] and entry.detail["outcome"] == "applied"
        assert "01022223333" not in json.dumps(entry.detail)

    code, out = run(settings, "replay", row, "--set", "phone=010-2222-3333", "--actor", "lee")
    assert code == 1 and "already replayed by kim.ops" in out
    [kept] = [q for q in quarantined_rows(store) if q.id == ids[3]]
    assert kept.replayed_by == "kim.ops" and kept.raw.startswith("C2,")
    code, out = run(settings, "quarantine", "--pending", "--json")
    assert [r["line"] for r in json.loads(out)] == [4, 5]


def test_replay_keeps_the_ordering_rule_and_needs_an_actor(
    store: Store, settings: Settings, grant: Callable[..., None]
) -> None:
    grant("kim", "operator")
    ids = synced(store, settings)
    # C3 changed later elsewhere: the corrected, older row must not overwrite it.
    newer = "customer_id,changed_at,name\nC3,2024-06-01T09:00:00,박민철\n"
    (settings.customer_inbox / "newer.csv").write_text(newer, encoding="utf-8")
    sync_inbox(store, settings)

    code, out = run(settings, "replay", str(ids[4]), "--set", "consent_sms_ad=Y", UMS_ACTOR="")
    assert code == 2 and "--actor" in out
    code, out = run(settings, "replay", str(ids[4]), "--set", "consent_sms_ad=Y", UMS_ACTOR="kim")
    assert code == 0 and "stale" in out
    with store.session() as session:
        c3 = session.get(Customer, "C3")
        assert c3 is not None and c3.name == "박민철"

    # A line that could not be cut into fields needs every field given.
    code, out = run(settings, "replay", str(ids[5]), "--actor", "kim")
    assert code == 1 and "could not be cut into fields" in out
    code, out = run(
        settings, "replay", str(ids[5]), "--actor", "kim",
        "--set", "customer_id=C9", "--set", "changed_at=2024-05-01T09:00:00",
    )  # fmt: skip
    assert code == 0 and "applied to customer C9" in out
    code, out = run(settings, "replay", str(ids[5]), "--set", "rrn=1", "--actor", "kim")
    assert code == 1 and "rrn: not a change-file column" in out
    code, out = run(settings, "replay", "12345", "--actor", "kim")
    assert code == 1 and "no such quarantined row" in out
