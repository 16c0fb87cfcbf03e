"""``ums bench --scenario extract``: target extraction of an advertising job over N
customers with every suppression, timed in a fresh child process (its peak RSS is the
extraction's own; seeding is not in it).

Customers are seeded once per size into a cached SQLite store (Core bulk inserts, not
timed) with a fixed mix per hundred (:data:`MIX`); each run copies it, registers the job
and calls ``extract_targets``. The result says whether targets plus every suppression
count add up to the customers seeded.
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert

from ums_pipelines.bench.model import peak_rss_mb
from ums_pipelines.bench.population import _checkpoint
from ums_pipelines.compliance.frequency import ALL_CHANNELS
from ums_pipelines.jobs import (
    ChannelVariant,
    register_job,
    register_sender_number,
    register_template,
)
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.compliance import RecipientDay
from ums_pipelines.store.contact import OptOut
from ums_pipelines.store.engine import Store
from ums_pipelines.store.models import Consent, Customer
from ums_pipelines.targets import extract_targets

__all__ = ["MIX", "ExtractRun", "expected", "extract_in_child", "run_extract", "seed_store"]

SENDER = "15881234"
TEMPLATE = "bench-ad"
PRODUCT = "loan"
AD_TEXT = "(광고) UMS은행 {{ name }}님께 드리는 대출 혜택\n무료수신거부 080-123-4567"
VARIANTS = (
    ChannelVariant("sms", AD_TEXT),
    ChannelVariant("push", AD_TEXT, "(광고) 대출 혜택"),
)
ROUTES = {"sms": ["sms"], "push": ["push", "sms"]}  # no default: "fax" has no route
# What each customer is, by customer number modulo 100: (first, last, kind).
MIX: tuple[tuple[int, int, str], ...] = (
    (0, 1, "deceased"),
    (2, 2, "no_route"),
    (3, 9, "no_consent"),
    (10, 11, "withdrawn"),  # an explicit refusal: no_consent, not the exception
    (12, 15, "consent_expired"),
    (16, 18, "opt_out"),
    (19, 20, "no_contact"),
    (21, 24, "frequency_cap"),
    (25, 27, "duplicate_recipient"),  # the phone of customer i + 25 of the same hundred
    (28, 30, "transaction_exception"),
)
_BATCH = 50_000


def _kind(i: int) -> str:
    n = i % 100
    return next((k for lo, hi, k in MIX if lo <= n <= hi), "target")


def _preferred(i: int) -> str:
    # A fifth prefer push; the duplicates and their twins (25-27 and 50-52) SMS.
    return "push" if i % 100 >= 80 else "sms"


def expected(customers: int) -> tuple[int, dict[str, int]]:
    """(targets, suppressed) the mix gives for ``customers``."""
    suppressed: dict[str, int] = {}
    targets = 0
    for i in range(customers):
        kind = _kind(i)
        if kind == "duplicate_recipient" and i + 25 >= customers:
            kind = "target"  # its twin was not seeded
        if kind in ("target", "transaction_exception"):
            targets += 1
            continue
        reason = "no_consent" if kind == "withdrawn" else kind
        suppressed[reason] = suppressed.get(reason, 0) + 1
    return targets, suppressed


def _rows(start: int, stop: int, now: datetime, day: Any) -> dict[str, list[dict[str, Any]]]:
    customers, consents, opt_outs, days = [], [], [], []
    old = now - timedelta(days=3 * 365)
    for i in range(start, stop):
        kind, cid = _kind(i), f"X{i:08d}"
        phone = f"010{i:08d}" if kind != "duplicate_recipient" else f"010{i + 25:08d}"
        customers.append(
            {
                "customer_id": cid,
                "name": f"고객{i}",
                "phone": None if kind == "no_contact" else phone,
                "email": None,
                "push_token": None if kind == "no_contact" else f"tok-{i:08d}",
                "preferred_channel": "fax" if kind == "no_route" else _preferred(i),
                "branch": "강남지점",
                "deceased": kind == "deceased",
                "last_transaction_at": now - timedelta(days=30),
                "last_transaction_kind": PRODUCT if kind == "transaction_exception" else None,
                "source_changed_at": now,
                "updated_at": now,
            }
        )
        if kind not in ("no_consent", "transaction_exception"):
            for channel in ("sms", "push"):
                consents.append(
                    {
                        "customer_id": cid,
                        "channel": channel,
                        "purpose": "ad",
                        "granted": kind != "withdrawn",
                        "consented_at": old if kind == "consent_expired" else now,
                        "source": "bench",
                    }
                )
        if kind == "opt_out":
            opt_outs.append(
                {
                    "customer_id": cid,
                    "channel": None,
                    "purpose": None,
                    "source": "080",
                    "opted_out_at": now,
                    "recorded_at": now,
                }
            )
        if kind == "frequency_cap":
            days.append(
                {
                    "customer_id": cid,
                    "day": day,
                    "channel": ALL_CHANNELS,
                    "purpose": "advertising",
                    "count": 1,
                }
            )
    return {"customers": customers, "consents": consents, "opt_outs": opt_outs, "days": days}


def _tables() -> dict[str, Table]:
    return {
        "customers": Customer.__table__,  # type: ignore[dict-item]
        "consents": Consent.__table__,  # type: ignore[dict-item]
        "opt_outs": OptOut.__table__,  # type: ignore[dict-item]
        "days": RecipientDay.__table__,  # type: ignore[dict-item]
    }


def seed_store(cache: Path, customers: int, settings: Settings | None = None) -> Path:
    """The cached store of ``customers`` seeded with :data:`MIX` (built once per size and
    day: the frequency-capped counts are today's)."""
    tz = (settings or Settings()).tz
    now = datetime.now(UTC)
    day = now.astimezone(tz).date()
    path = cache / f"extract-{customers}-{day.isoformat()}.db"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    for suffix in ("", "-wal", "-shm", "-gate"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    store = Store(f"sqlite:///{tmp}")
    store.migrate()
    tables = _tables()
    for start in range(0, customers, _BATCH):
        rows = _rows(start, min(customers, start + _BATCH), now, day)
        with store.session() as session:
            for name, table in tables.items():
                if rows[name]:
                    session.execute(insert(table), rows[name])
    with store.session() as session:
        register_sender_number(session, SENDER, "고객센터", actor="bench")
        register_template(
            session,
            code=TEMPLATE,
            name="대출 혜택 안내",
            purpose=Purpose.ADVERTISING,
            variables=["name"],
            variants=VARIANTS,
            actor="bench",
        )
    store.dispose()
    _checkpoint(tmp)
    tmp.replace(path)
    Path(f"{tmp}-gate").unlink(missing_ok=True)
    return path


@dataclass(frozen=True)
class ExtractRun:
    customers: int
    targets: int
    suppressed: dict[str, int] = field(default_factory=dict)
    admitted: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0

    @property
    def adds_up(self) -> bool:
        return self.targets + sum(self.suppressed.values()) == self.customers

    def as_json(self) -> dict[str, Any]:
        rate = self.customers / self.seconds if self.seconds > 0 else 0.0
        return {
            "scenario": "extract",
            **asdict(self),
            "seconds": round(self.seconds, 2),
            "customers_per_s": round(rate, 1),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "adds_up": self.adds_up,
        }


def run_extract(base: Path, rundir: Path, customers: int) -> ExtractRun:
    """One extraction on a private copy of ``base``, in this process."""
    if rundir.exists():
        shutil.rmtree(rundir)
    rundir.mkdir(parents=True)
    shutil.copyfile(base, rundir / "ums.db")
    settings = Settings(home=rundir, database_url=f"sqlite:///{rundir / 'ums.db'}")
    store = Store(settings.store_url)
    store.migrate()
    job_id = f"x{uuid.uuid4().hex[:10]}"
    with store.session() as session:
        job, _ = register_job(
            session,
            job_id=job_id,
            name="대출 혜택 안내",
            template_code=TEMPLATE,
            routes=ROUTES,
            sender_number=SENDER,
            department="bench",
            actor="bench",
            lane=Lane.MARKETING,
        )
        job.product_kind = PRODUCT
    started = time.perf_counter()
    result = extract_targets(store, settings, job_id)
    seconds = time.perf_counter() - started
    store.dispose()
    return ExtractRun(
        customers, result.targets, result.suppressed, result.admitted, seconds, peak_rss_mb()
    )


def _child(base: str, rundir: str, customers: int, conn: Connection) -> None:
    try:
        conn.send(("ok", asdict(run_extract(Path(base), Path(rundir), customers))))
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        conn.close()


def extract_in_child(base: Path, rundir: Path, customers: int) -> ExtractRun:
    """:func:`run_extract` in a fresh spawned process: the peak RSS is the extraction's."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    args = (str(base), str(rundir), customers, sender)
    process = ctx.Process(target=_child, args=args, name="bench-extract")
    process.start()
    sender.close()
    try:
        status, payload = receiver.recv()
    except EOFError:
        status, payload = "error", f"the extract process died (exit {process.exitcode})"
    process.join()
    if status != "ok":
        raise RuntimeError(f"extract: {payload}")
    return ExtractRun(**payload)
