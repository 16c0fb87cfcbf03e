"""sync_inbox against the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ums_pipelines.customers import Issue, pending_files, quarantined_rows, sync_inbox
from ums_pipelines.customers import sync as sync_module
from ums_pipelines.customers.apply import as_utc
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Consent, Customer, CustomerChangeFile, QuarantinedRow

HEADER = "customer_id,changed_at,name,phone,email,preferred_channel,deceased,consent_sms_info\n"
GOOD = (
    HEADER
    + "C0000001,2024-05-01T09:00:00,김민수,010-1234-5678,kim@example.com,sms,N,Y\n"
    + '"C0000002","2024-05-01T10:00:00+09:00","이, 영희",+82 10 2222 3333,,push,,N\n'
)


def drop(settings: Settings, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Deliver a file the way source systems must: temp dot-name, then rename."""
    data = content.encode(encoding) if isinstance(content, str) else content
    settings.customer_inbox.mkdir(parents=True, exist_ok=True)
    temp = settings.customer_inbox / f".{name}.tmp"
    temp.write_bytes(data)
    return temp.replace(settings.customer_inbox / name)


def customers(store: Store) -> dict[str, Customer]:
    with store.session() as session:
        return {c.customer_id: c for c in session.scalars(select(Customer))}


def consents(store: Store) -> dict[tuple[str, str, str], Consent]:
    with store.session() as session:
        return {(c.customer_id, c.channel, c.purpose): c for c in session.scalars(select(Consent))}


def count(store: Store, model: type[CustomerChangeFile] | type[QuarantinedRow]) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_good_file_is_applied_and_moved(store: Store, settings: Settings) -> None:
    drop(settings, "cust_001.csv", GOOD)
    assert [p.name for p in pending_files(settings)] == ["cust_001.csv"]

    report = sync_inbox(store, settings)

    [result] = report.files
    assert (result.file_name, result.status, result.encoding) == (
        "cust_001.csv",
        "applied",
        "utf-8",
    )
    assert (result.rows_total, result.rows_applied, result.rows_stale) == (2, 2, 0)
    assert result.rows_quarantined == 0 and result.issues == []
    stored = customers(store)
    assert set(stored) == {"C0000001", "C0000002"}
    kim, lee = stored["C0000001"], stored["C0000002"]
    assert (kim.name, kim.phone, kim.email, kim.preferred_channel) == (
        "김민수",
        "01012345678",
        "kim@example.com",
        "sms",
    )
    assert kim.deceased is False and lee.deceased is False  # blank deceased: default
    assert (lee.name, lee.phone, lee.email) == ("이, 영희", "01022223333", None)
    # Naive times are Korea time; both rows say 01:00 / 00:00 UTC.
    assert as_utc(kim.source_changed_at) == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
    assert as_utc(lee.source_changed_at) == datetime(2024, 5, 1, 1, 0, tzinfo=UTC)

    assert pending_files(settings) == []
    assert result.moved_to is not None and result.moved_to.exists()
    assert result.moved_to.parent == settings.customer_inbox / "processed"
    assert result.moved_to.name.endswith("_cust_001.csv")
    with store.session() as session:
        row = session.scalars(select(CustomerChangeFile)).one()
        assert (row.file_name, row.status, row.rows_applied, row.encoding) == (
            "cust_001.csv",
            "applied",
            2,
            "utf-8",
        )


@pytest.mark.parametrize(
    ("encode", "encoding"),
    [
        (lambda s: s.encode("cp949"), "cp949"),
        (lambda s: s.encode("euc-kr"), "cp949"),
        (lambda s: b"\xef\xbb\xbf" + s.encode("utf-8"), "utf-8-sig"),
    ],
    ids=["cp949", "euc-kr", "utf-8-bom"],
)
def test_korean_encodings(
    store: Store, settings: Settings, encode: Callable[[str], bytes], encoding: str
) -> None:
    drop(settings, "legacy.csv", encode(GOOD))
    [result] = sync_inbox(store, settings).files
    assert (result.status, result.encoding, result.rows_applied) == ("applied", encoding, 2)
    assert customers(store)["C0000002"].name == "이, 영희"


def test_bad_rows_are_quarantined_and_good_rows_applied(store: Store, settings: Settings) -> None:
    data = (
        HEADER.encode()
        + "C0000001,2024-05-01T09:00:00,김민수,010-1234-5678,kim@example.com,sms,N,Y\n".encode()
        + b"C0000002,2024-05-01T09:00:00,short,row,here\n"
        + "C0000003,2024-05-01T09:00:00,박철수,010-9876-54321,park@example.com,sms,N,Y\n".encode()
        + b"C0000004,2024-05-01T09:00:00,\xff\xfe\x80,010-5555-6666,,sms,N,Y\n"
        + "C0000005,2024-05-01T09:00:00,최지우,010-3333-4444,choi@@example.com,fax,N,Y\n".encode()
        + "C0000006,2024-05-01T09:00:00,정우성,010-7777-8888,jung@example.com,email,N,N\n".encode()
    )
    drop(settings, "mixed.csv", data)

    [result] = sync_inbox(store, settings).files

    assert result.status == "partial"
    assert (result.rows_total, result.rows_applied, result.rows_quarantined) == (6, 2, 4)
    assert set(customers(store)) == {"C0000001", "C0000006"}
    by_line: dict[int, list[Issue]] = {}
    for issue in result.issues:
        by_line.setdefault(issue.line, []).append(issue)
    assert sorted(by_line) == [3, 4, 5, 6]
    assert by_line[3][0].reason == "row has 5 fields, the header has 8"
    assert [i.field for i in by_line[4]] == ["phone"]
    assert by_line[5][0].field is None and "line 5" in by_line[5][0].reason
    assert {i.field for i in by_line[6]} == {"email", "preferred_channel"}

    # Personal data never reaches an issue, a stored reason or a warning.
    rows = quarantined_rows(store, "mixed.csv")
    texts = [i.reason for i in result.issues] + [q.reason for q in rows] + result.warnings
    for secret in ("010-9876-54321", "01098765432", "9876", "5555", "choi@@", "박철수", "\\xff"):
        assert not any(secret in text for text in texts), secret

    assert [(q.line_no, q.field) for q in rows] == [
        (3, None),
        (4, "phone"),
        (5, None),
        (6, "email,preferred_channel"),
    ]
    assert rows[1].raw.startswith("C0000003,") and "010-9876-54321" in rows[1].raw
    assert "email: " in rows[3].reason and "preferred_channel: " in rows[3].reason
    assert result.moved_to is not None and result.moved_to.parent.name == "processed"
    assert quarantined_rows(store, "other.csv") == []
    assert len(quarantined_rows(store)) == 4


def test_header_without_customer_id_rejects_and_keeps_the_file(
    store: Store, settings: Settings
) -> None:
    drop(settings, "no_id.csv", "changed_at,name\n2024-05-01T09:00:00,김민수\n")

    [result] = sync_inbox(store, settings).files

    assert result.status == "rejected"
    assert result.reason is not None and "customer_id" in result.reason
    assert result.moved_to is not None and result.moved_to.parent.name == "rejected"
    assert result.moved_to.read_text(encoding="utf-8").startswith("changed_at,name")
    note = result.moved_to.with_name(result.moved_to.name + ".reason.txt")
    assert "customer_id" in note.read_text(encoding="utf-8")
    assert pending_files(settings) == [] and customers(store) == {}
    with store.session() as session:
        row = session.scalars(select(CustomerChangeFile)).one()
        assert (row.status, row.file_name) == ("rejected", "no_id.csv")
        assert row.reason is not None and "customer_id" in row.reason

    # The same bytes delivered again are judged again, not skipped as a duplicate.
    drop(settings, "no_id.csv", "changed_at,name\n2024-05-01T09:00:00,김민수\n")
    [again] = sync_inbox(store, settings).files
    assert again.status == "rejected"
    assert count(store, CustomerChangeFile) == 1


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x80\x81\n", "UTF-8 or CP949"),
        (b"customer_id,changed_at,name,name\nC1,2024-05-01,a,b\n", "duplicate column(s): name"),
    ],
)
def test_unusable_files_are_rejected_with_a_reason_file(
    store: Store, settings: Settings, content: bytes, words: str
) -> None:
    drop(settings, "bad.csv", content)
    [result] = sync_inbox(store, settings).files
    assert result.status == "rejected" and result.moved_to is not None
    assert result.moved_to.read_bytes() == content
    note = result.moved_to.with_name(result.moved_to.name + ".reason.txt")
    assert words in note.read_text(encoding="utf-8")


def test_same_file_twice_is_a_duplicate(store: Store, settings: Settings) -> None:
    drop(settings, "day1.csv", GOOD)
    sync_inbox(store, settings)
    before = {cid: (c.name, c.updated_at) for cid, c in customers(store).items()}

    drop(settings, "day1_resent.csv", GOOD)
    [result] = sync_inbox(store, settings).files

    assert result.status == "duplicate"
    assert result.rows_applied == 0
    assert any("day1.csv" in w for w in result.warnings)
    assert {cid: (c.name, c.updated_at) for cid, c in customers(store).items()} == before
    assert count(store, CustomerChangeFile) == 1
    assert result.moved_to is not None and result.moved_to.parent.name == "processed"
    assert len(list((settings.customer_inbox / "processed").iterdir())) == 2


def test_an_older_change_never_overwrites_a_newer_one(store: Store, settings: Settings) -> None:
    head = "customer_id,changed_at,phone,consent_sms_ad\n"
    drop(settings, "a.csv", head + "C1,2024-05-02T09:00:00,010-1111-1111,Y\n")
    drop(settings, "b.csv", head + "C1,2024-05-01T09:00:00,010-2222-2222,N\n")
    drop(settings, "c.csv", head + "C1,2024-05-02T09:00:00,010-3333-3333,N\n")

    first, older, same_time = sync_inbox(store, settings).files

    assert first.rows_applied == 1
    assert (older.status, older.rows_applied, older.rows_stale) == ("applied", 0, 1)
    assert (same_time.rows_applied, same_time.rows_stale) == (0, 1)
    c1 = customers(store)["C1"]
    assert c1.phone == "01011111111"
    assert as_utc(c1.source_changed_at) == datetime(2024, 5, 2, 0, 0, tzinfo=UTC)
    assert consents(store)[("C1", "sms", "ad")].granted is True


def test_within_a_file_later_lines_win_unless_older(store: Store, settings: Settings) -> None:
    content = (
        "customer_id,changed_at,name,branch\n"
        "C1,2024-05-01T09:00:00,김민수,강남지점\n"
        "C1,2024-05-01T09:00:00,김민준,\n"  # same time, later line: wins
        "C1,2024-04-01T09:00:00,김옛날,옛지점\n"  # older: stale
        "C2,2024-05-01T09:00:00,이영희,종로지점\n"
    )
    drop(settings, "f.csv", content)
    [result] = sync_inbox(store, settings).files
    assert (result.rows_applied, result.rows_stale) == (3, 1)
    c1 = customers(store)["C1"]
    assert (c1.name, c1.branch) == ("김민준", "강남지점")


def test_absent_columns_and_blank_cells_change_nothing(store: Store, settings: Settings) -> None:
    drop(settings, "full.csv", GOOD)
    sync_inbox(store, settings)
    drop(
        settings,
        "partial.csv",
        "changed_at,branch,customer_id,name,phone\n"  # any column order
        "2024-06-01T09:00:00,여의도지점,C0000001,,\n",
    )

    [result] = sync_inbox(store, settings).files

    assert result.rows_applied == 1
    kim = customers(store)["C0000001"]
    assert kim.branch == "여의도지점"
    assert (kim.name, kim.phone, kim.email, kim.preferred_channel) == (
        "김민수",
        "01012345678",
        "kim@example.com",
        "sms",
    )
    assert consents(store)[("C0000001", "sms", "info")].granted is True


def test_consents_per_channel_and_purpose(store: Store, settings: Settings) -> None:
    columns = ["consent_sms_info", "consent_alimtalk_ad", "consent_push_night_ad"]
    columns += ["consent_email_info", "consent_email_ad"]
    content = "customer_id,changed_at," + ",".join(columns) + "\n"
    content += "C1,2024-05-01T09:00:00+09:00,Y,N,Y,,n\n"
    drop(settings, "consent.csv", content)

    sync_inbox(store, settings)

    stored = consents(store)
    assert {key: c.granted for key, c in stored.items()} == {
        ("C1", "sms", "info"): True,
        ("C1", "alimtalk", "ad"): False,
        ("C1", "push", "night_ad"): True,
        ("C1", "email", "ad"): False,
    }
    for consent in stored.values():
        assert as_utc(consent.consented_at) == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
        assert consent.source == "file:consent.csv"


def test_a_newer_consent_recorded_elsewhere_is_kept(store: Store, settings: Settings) -> None:
    drop(settings, "a.csv", "customer_id,changed_at,consent_sms_ad\nC1,2024-05-01T09:00:00,Y\n")
    sync_inbox(store, settings)
    with store.session() as session:  # an 080 opt-out after the file's change time
        consent = session.get(Consent, ("C1", "sms", "ad"))
        assert consent is not None
        consent.granted = False
        consent.consented_at = datetime(2024, 5, 3, tzinfo=UTC)
        consent.source = "080"
    drop(settings, "b.csv", "customer_id,changed_at,name,consent_sms_ad\nC1,2024-05-02,김,Y\n")

    [result] = sync_inbox(store, settings).files

    assert result.rows_applied == 1 and customers(store)["C1"].name == "김"
    kept = consents(store)[("C1", "sms", "ad")]
    assert (kept.granted, kept.source) == (False, "080")


def test_unknown_columns_are_warned_about_not_fatal(store: Store, settings: Settings) -> None:
    drop(settings, "u.csv", "customer_id,changed_at,colour,consent_fax_info\nC1,2024-05-01,red,Y\n")
    [result] = sync_inbox(store, settings).files
    assert result.status == "applied" and result.rows_applied == 1
    assert any("colour" in w and "consent_fax_info" in w for w in result.warnings)


def test_rcs_kakao_and_letter_consents_are_their_own(store: Store, settings: Settings) -> None:
    """RCS, FriendTalk, brand messages and letters have consents under their own channel
    names; an app's platform (fcm/apns) comes with its token."""
    columns = ["consent_rcs_info", "consent_friendtalk_ad", "consent_brand_night_ad"]
    columns += ["consent_dm_info", "push_token", "push_platform", "preferred_channel"]
    content = "customer_id,changed_at," + ",".join(columns) + "\n"
    content += "C1,2024-05-01T09:00:00+09:00,Y,Y,N,Y,ab12,APNS,rcs\n"
    content += "C2,2024-05-01T09:00:00+09:00,,,,,cd34,huawei,dm\n"
    drop(settings, "new-channels.csv", content)

    [result] = sync_inbox(store, settings).files

    assert (result.rows_applied, result.rows_quarantined, result.warnings) == (1, 1, [])
    assert {key: c.granted for key, c in consents(store).items()} == {
        ("C1", "rcs", "info"): True,
        ("C1", "friendtalk", "ad"): True,
        ("C1", "brand", "night_ad"): False,
        ("C1", "dm", "info"): True,
    }
    stored = customers(store)["C1"]
    assert (stored.push_platform, stored.preferred_channel) == ("apns", "rcs")
    [issue] = result.issues
    assert (issue.field, issue.reason) == ("push_platform", "push_platform: must be fcm or apns")


def test_only_settled_csv_files_are_pending(settings: Settings) -> None:
    inbox = settings.customer_inbox
    assert pending_files(settings) == []  # no inbox yet
    (inbox / "processed").mkdir(parents=True)
    for name in ("b.csv", "a.CSV", ".c.csv", ".d.csv.tmp", "e.txt", "processed/f.csv"):
        (inbox / name).write_text("x")
    assert [p.name for p in pending_files(settings)] == ["a.CSV", "b.csv"]


def test_a_crash_mid_file_applies_nothing_and_a_rerun_redoes_it(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(settings, "crash.csv", GOOD)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated crash after the rows were written")

    # Customers and consents are written by then; recording the file fails.
    monkeypatch.setattr(sync_module, "_record_file", crash)
    with pytest.raises(RuntimeError):
        sync_inbox(store, settings)
    assert customers(store) == {} and consents(store) == {}
    assert [p.name for p in pending_files(settings)] == ["crash.csv"]

    monkeypatch.undo()
    [result] = sync_inbox(store, settings).files
    assert (result.status, result.rows_applied) == ("applied", 2)
    assert set(customers(store)) == {"C0000001", "C0000002"}
