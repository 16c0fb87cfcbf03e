"""Customers for the bench, set up fast and once: Core bulk inserts into a SQLite file
that is cached per (population, size) and copied for every measurement, so each run
starts from the same store with an empty outbox. Not timed."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Table, insert

from ums_pipelines.jobs import (
    ChannelVariant,
    register_job,
    register_sender_number,
    register_template,
)
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store
from ums_pipelines.store.models import Consent, Customer

__all__ = ["RT_TEMPLATE", "SENDER", "BenchStore", "base_store", "fresh_store", "open_store"]

SENDER = "15881234"
TEMPLATE = "bench-notice"
RT_TEMPLATE = "bench-alert"
VARIANTS = (
    ChannelVariant("sms", "[UMS은행] {{ name }}님 {{ branch }} 업무 처리 완료"),
    ChannelVariant("push", "{{ name }}님, {{ branch }} 업무 처리가 완료되었습니다.", "거래 안내"),
)
_INSERT_BATCH = 50_000


@dataclass
class BenchStore:
    """A copy of a base store for one measurement, with settings pointing at it."""

    store: Store
    settings: Settings

    def register(self, channel: str, lane: Lane = Lane.INFORMATIONAL, prefix: str = "b") -> str:
        """A job sending ``channel`` to every customer (each prefers the population's channel)."""
        job_id = f"{prefix}{uuid.uuid4().hex[:10]}"
        code = TEMPLATE if lane == Lane.INFORMATIONAL else RT_TEMPLATE
        with self.store.session() as session:
            register_job(
                session,
                job_id=job_id,
                name="벤치마크 안내",
                template_code=code,
                routes={"sms": [channel], "push": [channel]},
                sender_number=SENDER,
                department="bench",
                actor="bench",
                lane=lane,
            )
        return job_id


def _customers(store: Store, size: int, preferred: str) -> None:
    now = datetime.now(UTC)
    customers: Table = Customer.__table__  # type: ignore[assignment]
    consents: Table = Consent.__table__  # type: ignore[assignment]
    for start in range(0, size, _INSERT_BATCH):
        ids = range(start, min(size, start + _INSERT_BATCH))
        rows = [
            {
                "customer_id": f"B{i:08d}",
                "name": f"고객{i}",
                "phone": f"010{i:08d}",
                "email": None,
                "push_token": f"tok-{i:08d}",
                "preferred_channel": preferred,
                "branch": "강남지점",
                "deceased": False,
                "source_changed_at": now,
                "updated_at": now,
            }
            for i in ids
        ]
        grants = [
            {
                "customer_id": f"B{i:08d}",
                "channel": channel,
                "purpose": "info",
                "granted": True,
                "consented_at": now,
                "source": "bench",
            }
            for i in ids
            for channel in ("sms", "push")
        ]
        with store.session() as session:
            session.execute(insert(customers), rows)
            session.execute(insert(consents), grants)


def _content(store: Store) -> None:
    with store.session() as session:
        register_sender_number(session, SENDER, "고객센터", actor="bench")
        for code, purpose in ((TEMPLATE, Purpose.INFORMATIONAL), (RT_TEMPLATE, Purpose.AUTH)):
            register_template(
                session,
                code=code,
                name="벤치마크 안내",
                purpose=purpose,
                variables=["name", "branch"],
                variants=VARIANTS,
                actor="bench",
            )


def base_store(cache: Path, size: int, preferred: str) -> Path:
    """The cached base store file for ``size`` customers preferring ``preferred``."""
    path = cache / f"base-{preferred}-{size}.db"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    for suffix in ("", "-wal", "-shm", "-gate"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    store = Store(f"sqlite:///{tmp}")
    store.migrate()
    _customers(store, size, preferred)
    _content(store)
    store.dispose()
    _checkpoint(tmp)
    tmp.replace(path)
    Path(f"{tmp}-gate").unlink(missing_ok=True)  # the writers' gate file (store.engine)
    return path


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the main file, so a plain file copy is the whole database."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


def fresh_store(base: Path, rundir: Path, gateway_url: str) -> BenchStore:
    """A private copy of ``base`` under ``rundir`` and settings for it."""
    if rundir.exists():
        shutil.rmtree(rundir)
    rundir.mkdir(parents=True)
    db = rundir / "ums.db"
    shutil.copyfile(base, db)
    bs = open_store(rundir, gateway_url)
    bs.store.migrate()  # a base built before a newer migration catches up here
    return bs


def open_store(rundir: Path, gateway_url: str) -> BenchStore:
    """The store of a run directory (another process of the same measurement)."""
    settings = Settings(
        home=rundir,
        database_url=f"sqlite:///{rundir / 'ums.db'}",
        gateway_url=gateway_url,
    )
    return BenchStore(Store(settings.store_url), settings)
