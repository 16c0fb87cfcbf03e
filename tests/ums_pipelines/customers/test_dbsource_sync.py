"""sync_source: a source database table of changes, read by (cursor, key) and applied once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from ums_pipelines.customers import dbsync
from ums_pipelines.customers.dbsource import SourceError, masked_url, watermark_name
from ums_pipelines.customers.dbsync import SourceMoved, source_waiting, sync_source
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store
from ums_pipelines.store.models import (
    Consent,
    Customer,
    CustomerChangeFile,
    QuarantinedRow,
    Watermark,
)

T0 = datetime(2024, 5, 1, 9, 0, 0)  # naive: Korea time, as in a change file


@dataclass
class Source:
    url: str
    table: str  # as configured: "changes" or "schema.changes"
    engine: sa.Engine
    changes: sa.Table

    def add(self, *rows: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            for values in rows:  # one by one: the rows set different columns
                conn.execute(sa.insert(self.changes).values(**values))


def _define(schema: str | None) -> tuple[sa.MetaData, sa.Table]:
    meta = sa.MetaData(schema=schema)
    table = sa.Table(
        "changes",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(32)),
        sa.Column("changed_at", sa.DateTime),
        sa.Column("seq", sa.Integer),  # a separate update cursor
        sa.Column("name", sa.String(100)),
        sa.Column("phone", sa.String(20)),
        sa.Column("deceased", sa.Boolean),
        sa.Column("sms_yn", sa.String(1)),  # mapped to consent_sms_info
    )
    return meta, table


@pytest.fixture(params=["sqlite-source", "postgresql-source"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Source]:
    if request.param == "sqlite-source":
        url = f"sqlite:///{tmp_path / 'source.db'}"
        engine = sa.create_engine(url)
        meta, table = _define(None)
        meta.create_all(engine)
        yield Source(url, "changes", engine, table)
        engine.dispose()
        return
    base = request.getfixturevalue("pg_url")
    schema = f"src_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    meta, table = _define(schema)
    meta.create_all(engine)
    try:
        yield Source(base, f"{schema}.changes", engine, table)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def configure(settings: Settings, source: Source, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "home": settings.home,
        "database_url": settings.database_url,
        "customer_source_url": source.url,
        "customer_source_table": source.table,
        "customer_source_columns": {"consent_sms_info": "sms_yn"},
    }
    return Settings(**{**values, **extra})


def row(cid: str, minute: int, **fields: Any) -> dict[str, Any]:
    return {"customer_id": cid, "changed_at": T0.replace(minute=minute), **fields}


def stored(store: Store) -> dict[str, Customer]:
    with store.session() as session:
        return {c.customer_id: c for c in session.scalars(select(Customer))}


def test_rows_are_applied_once_across_pages_with_ties_and_bad_rows(
    store: Store, settings: Settings, source: Source
) -> None:
    source.add(
        row("C1", 0, name="김민수", phone="010-1111-2222", sms_yn="Y"),
        # Four rows share one cursor value: a page of 2 ends in the middle of them.
        row("C2", 5, phone="010-2222-3333"),
        row("C3", 5, phone="not a phone"),
        row("C4", 5, deceased=True),
        row("C5", 5, sms_yn="N"),
        row("C6", 7, phone="01066667777"),
    )
    cfg = configure(settings, source)

    first = sync_source(store, cfg, page_size=2)

    assert (first.pages, first.rows_read, first.rows_applied, first.rows_quarantined) == (
        3,
        6,
        5,
        1,
    )
    customers = stored(store)
    assert sorted(customers) == ["C1", "C2", "C4", "C5", "C6"]
    assert customers["C1"].phone == "01011112222" and customers["C4"].deceased
    with store.session() as session:
        consent = session.get(Consent, ("C5", "sms", "info"))
        assert consent is not None and consent.granted is False
        [bad] = session.scalars(select(QuarantinedRow)).all()
        assert (bad.line_no, bad.field) == (3, "phone")
        assert bad.cells is not None and bad.cells["customer_id"] == "C3"
        pages = session.scalars(select(CustomerChangeFile)).all()
        assert {p.file_name for p in pages} == {f"db:{source.table}"}
        assert sorted(p.status for p in pages) == ["applied", "applied", "partial"]
        assert sum(p.rows_total for p in pages) == 6
        assert session.get(Watermark, watermark_name(source.table)) is not None
    assert [i.field for i in first.issues] == ["phone"]

    again = sync_source(store, cfg, page_size=2)
    assert (again.pages, again.rows_read, again.rows_applied) == (0, 0, 0)
    assert source_waiting(store, cfg) is None
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(CustomerChangeFile)) == 3


def test_a_row_tied_with_the_stored_position_is_still_read(
    store: Store, settings: Settings, source: Source
) -> None:
    source.add(row("C1", 5, phone="01011112222"), row("C3", 5, phone="01033334444"))
    cfg = configure(settings, source)
    sync_source(store, cfg)
    # Written after the run, same cursor value: a key above the stored one is new; one
    # below it is behind the position and stays unread (documented: keys must grow too,
    # or the cursor must be strictly increasing).
    source.add(row("C4", 5, phone="01044445555"))

    assert source_waiting(store, cfg) is not None
    result = sync_source(store, cfg)

    assert (result.rows_read, result.rows_applied) == (1, 1)
    assert "C4" in stored(store)


def test_an_older_change_read_later_never_overwrites_a_newer_one(
    store: Store, settings: Settings, source: Source
) -> None:
    cfg = configure(settings, source, customer_source_cursor_column="seq")
    source.add(row("C1", 30, phone="01011112222", seq=1))
    sync_source(store, cfg)
    # A late delivery of an older change: a higher cursor, an earlier changed_at.
    source.add(row("C1", 10, phone="01099998888", seq=2), row("C2", 10, seq=3))

    result = sync_source(store, cfg)

    assert (result.rows_read, result.rows_applied, result.rows_stale) == (2, 1, 1)
    customers = stored(store)
    assert customers["C1"].phone == "01011112222"
    assert result.cursor == "3"


def test_a_crash_redoes_the_page_and_skips_nothing(
    store: Store, settings: Settings, source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    source.add(*(row(f"C{i}", 1, phone=f"0101234{i:04d}") for i in range(5)))
    cfg = configure(settings, source)
    real = dbsync.apply_rows
    calls: list[int] = []

    def crash_on_second_page(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("store lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(dbsync, "apply_rows", crash_on_second_page)
    with pytest.raises(RuntimeError):
        sync_source(store, cfg, page_size=2)
    assert sorted(stored(store)) == ["C0", "C1"]

    monkeypatch.setattr(dbsync, "apply_rows", real)
    result = sync_source(store, cfg, page_size=2)

    assert (result.rows_read, result.rows_applied) == (3, 3)
    assert sorted(stored(store)) == [f"C{i}" for i in range(5)]


def test_a_position_moved_by_another_run_stops_the_page(
    store: Store, settings: Settings, source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    source.add(row("C1", 1, phone="01011112222"))
    cfg = configure(settings, source)
    sync_source(store, cfg)
    source.add(row("C2", 2, phone="01022223333"))
    # This run read the old position; another run moves it before this one commits.
    real = dbsync._stored

    def stale(store_: Store, name: str) -> str | None:
        value = real(store_, name)
        with store_.session() as session:
            mark = session.get(Watermark, name)
            assert mark is not None
            mark.value = mark.value.replace("C1", "C1x")
        return value

    monkeypatch.setattr(dbsync, "_stored", stale)
    with pytest.raises(SourceMoved):
        sync_source(store, cfg)
    assert "C2" not in stored(store)


def test_misconfiguration_names_the_setting_and_never_the_password(
    store: Store, settings: Settings, source: Source
) -> None:
    def error(**extra: Any) -> str:
        with pytest.raises(SourceError) as caught:
            sync_source(store, configure(settings, source, **extra))
        return str(caught.value)

    assert error(customer_source_table="changes; DROP TABLE x").startswith(
        "UMS_CUSTOMER_SOURCE_TABLE"
    )
    assert "no table" in error(customer_source_table="missing")
    assert "'updated'" in error(customer_source_cursor_column="updated")
    assert error(customer_source_columns={"shoe_size": "x"}).startswith(
        "UMS_CUSTOMER_SOURCE_COLUMNS"
    )
    secret_url = "postgresql+psycopg://reader:s3cr3t-pw@127.0.0.1:1/none"
    message = error(customer_source_url=secret_url)
    assert "s3cr3t-pw" not in message and "reader:***@127.0.0.1:1" in message
    assert "s3cr3t-pw" not in repr(configure(settings, source, customer_source_url=secret_url))
    assert masked_url(secret_url) == "postgresql+psycopg://reader:***@127.0.0.1:1/none"
