"""Change files in every format through sync_inbox: CP949 and UTF-8-with-BOM CSV, JSON
Lines and fixed-width records with a layout, each with malformed rows: the exact per-row
report, every good row applied, the ordering rule held, an unparseable file kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from ums_pipelines.customers import pending_files, quarantined_rows, sync_inbox
from ums_pipelines.customers.apply import as_utc
from ums_pipelines.customers.report import FileResult
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Consent, Customer, CustomerChangeFile

LAYOUT = Path(__file__).resolve().parents[3] / "layouts" / "customer_v1.yaml"
RRN = "9001011234567"


def drop(settings: Settings, name: str, data: bytes) -> Path:
    settings.customer_inbox.mkdir(parents=True, exist_ok=True)
    temp = settings.customer_inbox / f".{name}.tmp"
    temp.write_bytes(data)
    return temp.replace(settings.customer_inbox / name)


def customers(store: Store) -> dict[str, Customer]:
    with store.session() as session:
        return {c.customer_id: c for c in session.scalars(select(Customer))}


def report(result: FileResult) -> list[tuple[int, str | None, str]]:
    return [(i.line, i.field, i.reason) for i in result.issues]


def with_layouts(settings: Settings, layouts: dict[str, Path]) -> Settings:
    return settings.model_copy(update={"change_layouts": layouts})


def assert_kept(result: FileResult, data: bytes, words: str) -> None:
    assert result.status == "rejected" and result.reason is not None and words in result.reason
    assert result.moved_to is not None and result.moved_to.parent.name == "rejected"
    assert result.moved_to.read_bytes() == data
    note = result.moved_to.with_name(result.moved_to.name + ".reason.txt")
    assert words in note.read_text(encoding="utf-8")


# --- CSV in CP949 and in UTF-8 with a BOM ------------------------------------------------

CSV = (
    "customer_id,changed_at,name,phone,consent_sms_ad,last_transaction_at,last_transaction_kind\n"
    "C1,2024-05-01T09:00:00,김민수,010-1234-5678,Y,2024-04-30,deposit\n"
    "C2,2024-05-01T09:00:00,이영희,010-12,N,,\n"
    "C3,어제,박철수,010-2222-3333,Y,,\n"
    "C4,2024-05-01T09:00:00,최지우,010-3333-4444,X,2999-01-01,Loan Product!\n"
    "C5,2024-05-01T10:00:00,정우성,010-4444-5555,N,2024-05-01T08:00:00,CARD\n"
    "too,few\n"
)
CSV_REPORT = [
    (3, "phone", "phone: not a Korean mobile number (*****)"),
    (4, "changed_at", "changed_at: not an ISO-8601 date or date-time"),
    (5, "last_transaction_at", "last_transaction_at: in the future"),
    (
        5,
        "last_transaction_kind",
        "last_transaction_kind: must be a code of 1-32 characters of a-z, 0-9, '_' or '-'",
    ),
    (5, "consent_sms_ad", "consent_sms_ad: must be Y or N"),
    (7, None, "row has 2 fields, the header has 7"),
]


@pytest.mark.parametrize("encoding", ["cp949", "utf-8-sig"])
def test_csv_in_korean_encodings_reports_each_bad_row(
    store: Store, settings: Settings, encoding: str
) -> None:
    drop(settings, "cust.csv", CSV.encode(encoding))

    [result] = sync_inbox(store, settings).files

    assert (result.status, result.format, result.encoding) == ("partial", "csv", encoding)
    assert (result.rows_total, result.rows_applied, result.rows_quarantined) == (6, 2, 4)
    assert report(result) == CSV_REPORT
    stored = customers(store)
    assert set(stored) == {"C1", "C5"}
    c1, c5 = stored["C1"], stored["C5"]
    assert (c1.name, c1.last_transaction_kind, c5.last_transaction_kind) == (
        "김민수",
        "deposit",
        "card",
    )
    assert c1.last_transaction_at is not None and c5.last_transaction_at is not None
    # Korea time without an offset: midnight and 08:00 KST are 15:00 and 23:00 UTC.
    assert as_utc(c1.last_transaction_at) == datetime(2024, 4, 29, 15, 0, tzinfo=UTC)
    assert as_utc(c5.last_transaction_at) == datetime(2024, 4, 30, 23, 0, tzinfo=UTC)
    rows = quarantined_rows(store, "cust.csv")
    assert [(q.line_no, q.field) for q in rows] == [
        (3, "phone"),
        (4, "changed_at"),
        (5, "last_transaction_at,last_transaction_kind,consent_sms_ad"),
        (7, None),
    ]
    assert rows[0].cells is not None and rows[0].cells["name"] == "이영희"
    assert rows[3].cells is None and rows[3].raw == "too,few"


# --- JSON Lines -----------------------------------------------------------------------


def jline(**fields: object) -> str:
    return json.dumps(fields, ensure_ascii=False)


JSONL = "\n".join(
    [
        jline(customer_id="J1", changed_at="2024-05-01T09:00:00", name="김민수",
              phone="010-1234-5678", consent_sms_info=True, last_transaction_at="2024-04-01",
              last_transaction_kind="loan"),
        "not json at all",
        "[1, 2]",
        jline(customer_id="J3", changed_at="2024-05-01T09:00:00", phone="010-1"),
        "",
        jline(customer_id="J4", changed_at="2024-05-01T09:00:00", name={"first": "x"}),
        jline(customer_id="J5", changed_at="2024-05-01T09:00:00", consent_sms_info=False,
              deceased=None, extra=1),
        jline(changed_at="2024-05-01T09:00:00", name="박철수"),
    ]
) + "\n"  # fmt: skip


def test_json_lines_report_each_bad_line_and_apply_the_good(
    store: Store, settings: Settings
) -> None:
    drop(settings, "cust.jsonl", JSONL.encode("utf-8"))
    assert [p.name for p in pending_files(settings)] == ["cust.jsonl"]

    [result] = sync_inbox(store, settings).files

    assert (result.status, result.format, result.encoding) == ("partial", "jsonl", "utf-8")
    assert (result.rows_total, result.rows_applied, result.rows_quarantined) == (7, 2, 5)
    assert report(result) == [
        (2, None, "line 2: not JSON (Expecting value)"),
        (3, None, "line 3: a JSON list, not an object"),
        (4, "phone", "phone: not a Korean mobile number (****)"),
        (6, "name", "name: must be a string, number, boolean or null"),
        (8, "customer_id", "customer_id: required"),
    ]
    assert result.warnings == ["unknown field(s) ignored: extra"]
    stored = customers(store)
    assert set(stored) == {"J1", "J5"}
    assert (stored["J1"].phone, stored["J1"].last_transaction_kind) == ("01012345678", "loan")
    with store.session() as session:
        granted = {c.customer_id: c.granted for c in session.scalars(select(Consent))}
    assert granted == {"J1": True, "J5": False}


@pytest.mark.parametrize(
    ("data", "words"),
    [(b"", "empty"), (b"garbage\n{not json\n", "no line of the file is a JSON object")],
)
def test_an_unparseable_json_lines_file_is_kept(
    store: Store, settings: Settings, data: bytes, words: str
) -> None:
    drop(settings, "bad.jsonl", data)
    [result] = sync_inbox(store, settings).files
    assert_kept(result, data, words)


# --- fixed-width records with a layout -------------------------------------------------


def pad(text: str, size: int) -> bytes:
    data = text.encode("cp949")
    assert len(data) <= size, text
    return data + b" " * (size - len(data))


def record(cid: str, at: str, name: str = "", phone: str = "", **more: str) -> bytes:
    rec = (
        b"D" + pad(cid, 10) + pad(at, 14) + pad(name, 20) + pad(phone, 11)
        + pad(more.get("sms_info", ""), 1) + pad(more.get("sms_ad", ""), 1)
        + pad(more.get("deceased", ""), 1) + pad(more.get("ltx", ""), 8)
        + pad(more.get("kind", ""), 10) + pad(more.get("branch", ""), 10) + pad(RRN, 13)
    )  # fmt: skip
    assert len(rec) == 100
    return rec


def fixed_file(*records: bytes, count: int | None = None, header: bool = True) -> bytes:
    lines = ([pad("H20240502", 100)] if header else []) + list(records)
    if count is not None:
        lines.append(pad(f"T{count:09d}", 100))
    return b"\r\n".join(lines) + b"\r\n"


def torn_name() -> bytes:
    # 20 bytes whose last byte is the first half of a Hangul syllable.
    return "가나다라마바사아자".encode("cp949") + b" " + "차".encode("cp949")[:1]


def test_fixed_width_records_cut_by_bytes_with_a_report_per_record(
    store: Store, settings: Settings
) -> None:
    settings = with_layouts(settings, {"CUST_*.dat": LAYOUT})
    torn = bytearray(record("F4", "20240501090000", phone="01044445555"))
    torn[25:45] = torn_name()
    data = fixed_file(
        record("F1", "20240501090000", "김민수", "01012345678", sms_info="Y", sms_ad="N",
               ltx="20240430", kind="deposit", branch="강남"),
        record("F2", "2024050109XX00", "이영희", "01022223333"),
        record("F3", "20240501090000", "박철수", "01033334444")[:90],
        bytes(torn),
        b"X" + record("F5", "20240501090000")[1:],
        record("F6", "20240501100000", "남궁민수", "01066667777", deceased="Y", ltx="00000000"),
        count=6,
    )  # fmt: skip
    drop(settings, "CUST_20240502.dat", data)
    drop(settings, "notes.dat", b"not a change file")
    assert [p.name for p in pending_files(settings)] == ["CUST_20240502.dat"]

    [result] = sync_inbox(store, settings).files

    assert (result.status, result.format, result.encoding) == (
        "partial",
        "fixed:customer_v1",
        "cp949",
    )
    assert (result.rows_total, result.rows_applied, result.rows_quarantined) == (6, 2, 4)
    assert report(result) == [
        (3, "changed_at", "changed_at: does not match the layout format %Y%m%d%H%M%S"),
        (4, None, "record is 90 bytes, the layout's record length is 100"),
        (5, "name", "name: bytes 26-45 do not decode as cp949"),
        (6, "record_type", "record_type: 'X' is not a data record (type D)"),
    ]
    stored = customers(store)
    assert set(stored) == {"F1", "F6"}
    f1, f6 = stored["F1"], stored["F6"]
    # A 3-syllable name is 6 of its 20 bytes; the fields after it do not shift.
    assert (f1.name, f1.phone, f1.branch, f1.last_transaction_kind) == (
        "김민수",
        "01012345678",
        "강남",
        "deposit",
    )
    assert f1.last_transaction_at is not None
    assert as_utc(f1.last_transaction_at) == datetime(2024, 4, 29, 15, 0, tzinfo=UTC)
    assert (f6.name, f6.deceased, f6.last_transaction_at) == ("남궁민수", True, None)
    rows = quarantined_rows(store, "CUST_20240502.dat")
    # The RRN the layout marks ignore: true never reaches the store, not even quarantined.
    assert all(RRN not in q.raw and "rrn" not in (q.cells or {}) for q in rows)
    assert rows[0].cells is not None and rows[0].cells["name"] == "이영희"
    assert "name" not in (rows[2].cells or {}) and rows[2].cells is not None


def test_a_trailer_count_mismatch_is_reported_and_good_records_still_apply(
    store: Store, settings: Settings
) -> None:
    settings = with_layouts(settings, {"cust_*.dat": LAYOUT})
    good = record("F1", "20240501090000", "김민수", "01012345678")
    drop(settings, "cust_1.dat", fixed_file(good, count=3))
    drop(settings, "cust_2.dat", fixed_file(record("F2", "20240501090000"), header=False))

    short, headless = sync_inbox(store, settings).files

    assert (short.status, short.rows_applied, short.rows_quarantined) == ("partial", 1, 0)
    assert report(short) == [
        (3, "record_count", "record_count: the trailer says 3 data records, the file has 1")
    ]
    assert report(headless) == [
        (1, "record_type", "no header record (type H) first"),
        (1, "record_count", "no trailer record (type T): the file may be truncated"),
    ]
    assert headless.rows_applied == 1
    with store.session() as session:
        files = {f.file_name: f for f in session.scalars(select(CustomerChangeFile))}
    assert files["cust_1.dat"].status == "partial"
    assert "trailer says 3" in (files["cust_1.dat"].reason or "")


def test_an_older_fixed_width_change_never_overwrites_a_newer_one(
    store: Store, settings: Settings
) -> None:
    settings = with_layouts(settings, {"*.dat": LAYOUT})
    drop(
        settings, "a.dat", fixed_file(record("F1", "20240502090000", phone="01011111111"), count=1)
    )
    drop(
        settings, "b.dat", fixed_file(record("F1", "20240501090000", phone="01022222222"), count=1)
    )

    first, older = sync_inbox(store, settings).files

    assert (first.rows_applied, older.rows_applied, older.rows_stale) == (1, 0, 1)
    assert customers(store)["F1"].phone == "01011111111"


def test_unparseable_fixed_width_files_are_kept_with_a_reason(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: b\nrecord_length: 10\nfields:\n  - {start: 1, length: 3}\n", "utf-8")
    settings = with_layouts(settings, {"wrong_*.dat": LAYOUT, "broken_*.dat": broken})
    csv_bytes = b"customer_id,changed_at\nC1,2024-05-01T09:00:00\n"
    drop(settings, "wrong_1.dat", csv_bytes)
    drop(settings, "broken_1.dat", csv_bytes)

    broken_result, wrong = sync_inbox(store, settings).files

    assert_kept(wrong, csv_bytes, "no record is 100 bytes long (the layout customer_v1)")
    assert_kept(broken_result, csv_bytes, "layout broken.yaml: fields[0].name: required")
    assert customers(store) == {}


def test_a_relative_layout_path_is_under_ums_home(store: Store, settings: Settings) -> None:
    (settings.resolved_home / "layouts").mkdir(parents=True)
    (settings.resolved_home / "layouts" / "v1.yaml").write_bytes(LAYOUT.read_bytes())
    settings = with_layouts(settings, {"*.txt": Path("layouts/v1.yaml")})
    drop(settings, "cust.TXT", fixed_file(record("F1", "20240501090000"), count=1))
    [result] = sync_inbox(store, settings).files
    assert (result.status, result.rows_applied) == ("applied", 1)
