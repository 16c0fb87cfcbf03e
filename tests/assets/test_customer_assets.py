"""customer_profiles and customers_reachable, materialised by Dagster on both store backends."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
from sqlalchemy import select

from assets.customers import customer_profiles, customers_reachable
from ums_pipelines.customers import pending_files, quarantined_rows
from ums_pipelines.demo_data import customer_id, write_customer_file
from ums_pipelines.resources import UmsResource
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import Customer

Drop = Callable[[str, bytes], Path]

HEADER = "customer_id,changed_at,name,phone,email,preferred_channel,deceased,consent_sms_info\n"
KIM = "C0000001,2024-05-01T09:00:00,김민수,010-1234-5678,kim@example.com,sms,N,Y\n"
LEE = "C0000002,2024-05-01T09:00:00,이영희,010-2222-3333,lee@example.com,email,N,Y\n"
PARK_BAD_PHONE = "C0000003,2024-05-01T09:00:00,박철수,010-9876-54321,park@example.com,sms,N,Y\n"
CHOI = "C0000004,2024-05-01T09:00:00,최지우,010-3333-4444,choi@example.com,sms,N,Y\n"


def _materialize(
    ums: UmsResource, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [customer_profiles, customers_reachable], resources={"ums": ums}, instance=instance
    )
    assert result.success
    return result


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    [mat] = result.asset_materializations_for_node("customer_profiles")
    return {k: v.value for k, v in mat.metadata.items()}


def _stored(store: Store) -> dict[str, Customer]:
    with store.session() as session:
        return {c.customer_id: c for c in session.scalars(select(Customer))}


def test_good_file_is_applied_and_the_check_passes(
    ums: UmsResource, settings: Settings, store: Store, drop_file: Drop
) -> None:
    drop_file("cust_001.csv", (HEADER + KIM + LEE).encode())

    result = _materialize(ums)

    meta = _metadata(result)
    assert meta["files"] == 1 and meta["rows_applied"] == 2
    assert meta["rows_quarantined"] == 0 and meta["row_issues"] == []
    assert meta["file_status"] == {"cust_001.csv": "applied"}
    assert meta["rejected_files"] == {}
    assert meta["customers_total"] == 2
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "customers_reachable" and check.passed
    assert set(_stored(store)) == {"C0000001", "C0000002"}
    assert pending_files(settings) == []

    # Nothing waiting: the asset still materialises, with zero files.
    again = _metadata(_materialize(ums))
    assert (again["files"], again["customers_total"]) == (0, 2)


def test_bad_files_are_reported_row_by_row_and_good_rows_applied(
    ums: UmsResource,
    settings: Settings,
    store: Store,
    drop_file: Drop,
    instance: dg.DagsterInstance,
) -> None:
    # 1. One row whose phone number is invalid: that row only is quarantined.
    drop_file("a_bad_phone.csv", (HEADER + KIM + PARK_BAD_PHONE + CHOI).encode())
    # 2. A UTF-8 file with one line in neither UTF-8 nor CP949, one row short of fields,
    #    and one CP949 line that still decodes (a warning, not an error).
    drop_file(
        "b_encoding.csv",
        HEADER.encode()
        + LEE.encode()
        + b"C0000005,2024-05-01T09:00:00,\xff\xfe\x80,010-5555-6666,,sms,N,Y\n"
        + b"C0000006,2024-05-01T09:00:00,short\n"
        + "C0000007,2024-05-01T09:00:00,정우성,010-7777-8888,,sms,N,Y\n".encode("cp949"),
    )
    # 3. A file whose header lacks the required changed_at column: rejected whole.
    drop_file("c_missing_column.csv", (HEADER.replace("changed_at,", "") + "C9,x\n").encode())
    # 4. A UTF-16 export (Excel "Unicode text"): wrong encoding, rejected whole.
    drop_file("d_utf16.csv", (HEADER + KIM).encode("utf-16"))

    result = _materialize(ums, instance)
    meta = _metadata(result)

    assert meta["files"] == 4
    assert meta["file_status"] == {
        "a_bad_phone.csv": "partial",
        "b_encoding.csv": "partial",
        "c_missing_column.csv": "rejected",
        "d_utf16.csv": "rejected",
    }
    assert meta["rows_applied"] == 4  # KIM, CHOI, LEE, 정우성
    assert meta["rows_quarantined"] == 3
    assert set(_stored(store)) == {"C0000001", "C0000002", "C0000004", "C0000007"}
    assert _stored(store)["C0000007"].name == "정우성"

    rows = {(i["file"], i["line"]): i for i in meta["row_issues"]}
    assert set(rows) == {
        ("a_bad_phone.csv", 3),
        ("b_encoding.csv", 3),
        ("b_encoding.csv", 4),
    }
    assert meta["row_issues_total"] == 3
    assert rows[("a_bad_phone.csv", 3)]["field"] == "phone"
    assert "neither UTF-8 nor CP949" in rows[("b_encoding.csv", 3)]["reason"]
    assert "fields" in rows[("b_encoding.csv", 4)]["reason"]
    assert "changed_at" in meta["rejected_files"]["c_missing_column.csv"]
    assert "UTF-8 nor CP949" in meta["rejected_files"]["d_utf16.csv"]
    assert "cp949" in " ".join(meta["file_warnings"]["b_encoding.csv"])

    # The event log is not a place for personal data: reasons are masked.
    shown = repr(meta)
    for secret in ("010-9876-54321", "01098765432", "박철수", "5555-6666"):
        assert secret not in shown, secret

    # The quarantine keeps every bad row with its raw line, for the data owner to fix.
    quarantined = [(q.file_name, q.line_no, q.field) for q in quarantined_rows(store)]
    assert quarantined == [
        ("a_bad_phone.csv", 3, "phone"),
        ("b_encoding.csv", 3, None),
        ("b_encoding.csv", 4, None),
    ]
    inbox = settings.customer_inbox
    assert pending_files(settings) == []
    assert len(list((inbox / "processed").glob("*.csv"))) == 2
    assert len(list((inbox / "rejected").glob("*.csv"))) == 2
    assert len(list((inbox / "rejected").glob("*.reason.txt"))) == 2

    # The run's log says the same, file by file, for whoever reads the run in the UI.
    logged = [
        e.user_message
        for e in instance.all_logs(result.run_id)
        if e.level == logging.WARNING and e.step_key == "customer_profiles"
    ]
    assert len(logged) == 5
    assert any(m.startswith("c_missing_column.csv rejected: ") for m in logged)
    assert any(m.startswith("a_bad_phone.csv line 3: phone") for m in logged)
    assert not any("9876-54321" in m for m in logged)


def test_reachability_check_fails_for_a_customer_without_any_contact(
    ums: UmsResource, drop_file: Drop
) -> None:
    drop_file("cust.csv", (HEADER + KIM + "C0000009,2024-05-01T09:00:00,무연락,,,,N,\n").encode())

    result = _materialize(ums)

    [check] = result.get_asset_check_evaluations()
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["unreachable_customers"].value == 1
    assert result.success  # a WARN check does not fail the run


def test_direct_invocation_with_demo_data(
    ums: UmsResource, settings: Settings, store: Store
) -> None:
    written = write_customer_file(settings.customer_inbox / "demo.csv", 40)

    with dg.build_asset_context(resources={"ums": ums}) as context:
        result = customer_profiles(context)
    assert isinstance(result, dg.MaterializeResult) and result.metadata is not None
    assert result.metadata["rows_applied"] == written == 40
    assert result.metadata["customers_total"] == 40
    assert customer_id(40) in _stored(store)

    check = customers_reachable(dg.build_asset_check_context(resources={"ums": ums}))
    assert check.passed
