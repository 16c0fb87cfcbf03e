"""The urgent-notice scenario (issue 9, done-when 4): a notice to every customer approved
while a bulk job of the marketing lane is sending through the same provider; measured
are the time from approval to the first message the gateway accepted, and from approval
to the last first leg accepted against the dry run's prediction.

The bulk job runs in a process of its own (as a dispatch run would), the notice's
senders in this one, the gateway simulator in a third (``bench.simproc``): the GIL of
one is not the other's figure. The provider limit is ours (``provider_buckets``), the
one the dry run reads; the simulator itself is not limited.

``python -m ums_pipelines.urgent.bench --customers 100000 --rate 1000 --runs 3`` prints
one JSON object; ``docs/benchmarks.md`` records the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Table, func, insert, select

from ums_pipelines.compliance.approvals import approve_job
from ums_pipelines.compliance.roles import grant_role
from ums_pipelines.compliance.workflow import transition
from ums_pipelines.dispatch.compose import PROVIDERS
from ums_pipelines.dispatch.ratelimit import ProviderLimit, SharedRateLimiter
from ums_pipelines.dispatch.runner import Dispatcher
from ums_pipelines.jobs import ChannelVariant, register_job, register_sender_number
from ums_pipelines.jobs import register_template as add_template
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, as_utc
from ums_pipelines.store.models import Consent, Customer, Job, Message
from ums_pipelines.targets import extract_targets
from ums_pipelines.urgent.notices import approve_notice, draft_notice, dry_run
from ums_pipelines.urgent.send import send_notice

__all__ = ["UrgentRun", "bench_urgent", "run_urgent_under_bulk", "seed"]

SENDER, TEMPLATE = "15881234", "urgent-bench"
DRAFTER, APPROVER, HEAD = "bench-ops", "bench-urgent-head", "bench-head"
_BATCH = 20_000


@dataclass(frozen=True)
class UrgentRun:
    customers: int
    rate_per_s: float
    predicted_s: float
    start_s: float  # approval to the first urgent message in the gateway's ledger
    seconds: float  # approval to the last first leg accepted
    bulk_sent_before: int  # bulk messages accepted before the approval (it was running)
    bulk_sent_during: int  # ... while the notice was sending (the reservation: ~0)
    bulk_running_after: bool

    @property
    def ratio(self) -> float:
        return self.seconds / self.predicted_s

    def as_json(self) -> dict[str, object]:
        return asdict(self) | {"ratio": round(self.ratio, 3)}


def seed(store: Store, customers: int) -> None:
    """``customers`` SMS customers with the info consent, a sender and an approved item."""
    now = datetime.now(UTC)
    table: Table = Customer.__table__  # type: ignore[assignment]
    consents: Table = Consent.__table__  # type: ignore[assignment]
    for start in range(0, customers, _BATCH):
        ids = range(start, min(customers, start + _BATCH))
        rows = [
            {
                "customer_id": f"U{i:08d}",
                "name": f"고객{i}",
                "phone": f"010{i:08d}",
                "preferred_channel": "sms",
                "branch": "본점",
                "deceased": False,
                "source_changed_at": now,
                "updated_at": now,
            }
            for i in ids
        ]
        grants = [
            {
                "customer_id": f"U{i:08d}",
                "channel": "sms",
                "purpose": "info",
                "granted": True,
                "consented_at": now,
                "source": "bench",
            }
            for i in ids
        ]
        with store.session() as session:
            session.execute(insert(table), rows)
            session.execute(insert(consents), grants)
    with store.session() as session:
        register_sender_number(session, SENDER, "고객센터", actor="bench")
        add_template(
            session,
            code=TEMPLATE,
            name="긴급 안내",
            purpose=Purpose.INFORMATIONAL,
            variables=["name"],
            variants=[ChannelVariant("sms", "[UMS은행] {{ name }}님 전산 장애 안내")],
            actor="bench",
        )
        for user, role in ((DRAFTER, "author"), (APPROVER, "approver"), (HEAD, "approver")):
            grant_role(session, user, role, "*", granted_by="bench-admin")


def _bulk_job(store: Store, settings: Settings) -> str:
    """A marketing-lane job to every customer, targeted and approved (untimed)."""
    job_id = f"bulk-{int(time.time() * 1000)}"
    with store.session() as session:
        register_job(
            session,
            job_id=job_id,
            name="마케팅 대량 발송",
            template_code=TEMPLATE,
            routes={"default": ["sms"]},
            sender_number=SENDER,
            department="marketing",
            actor="bench",
            lane=Lane.MARKETING,
        )
    extract_targets(store, settings, job_id, actor="bench")
    with store.session() as session:
        approve_job(session, job_id, HEAD)
    return job_id


def bulk_main(store_url: str, home: str, gateway_url: str, job_id: str) -> None:
    """The bulk job's own process: dispatch until paused."""
    settings = Settings(home=Path(home), database_url=store_url, gateway_url=gateway_url)
    store = Store(settings.store_url)
    try:
        asyncio.run(Dispatcher(store, settings).run_job(job_id))
    finally:
        store.dispose()


def _sent(store: Store, job_id: str, before: datetime | None = None) -> int:
    query = select(func.count(Message.submitted_at)).where(Message.job_id == job_id)
    if before is not None:
        query = query.where(Message.submitted_at < before)
    with store.reading() as session:
        return int(session.scalar(query) or 0)


def _pause(store: Store, job_id: str) -> None:
    with store.session() as session:
        job = session.get(Job, job_id)
        if job is not None and job.status == "dispatching":
            transition(session, job, "paused", "bench")


def first_accepted(gateway_url: str, key_prefix: str) -> datetime:
    """When the gateway accepted its first message under ``key_prefix`` (its ledger)."""
    response = httpx.get(
        f"{gateway_url}/ledger/v1/messages",
        params={"keyPrefix": key_prefix, "after": 0, "limit": 1},
        timeout=30,
    )
    response.raise_for_status()
    rows = response.json()["messages"]
    if not rows:
        raise RuntimeError(f"the gateway accepted nothing under {key_prefix!r}")
    return as_utc(datetime.fromisoformat(rows[0]["acceptedAt"].replace("Z", "+00:00")))


def run_urgent_under_bulk(
    store: Store,
    settings: Settings,
    customers: int,
    rate: float,
    log: Callable[[str], None] = lambda _: None,
) -> UrgentRun:
    """One measurement on a store seeded by ``seed``; the settings point at the gateway."""
    provider = PROVIDERS["sms"]
    SharedRateLimiter(store).configure([ProviderLimit(provider, rate)])
    bulk_id = _bulk_job(store, settings)
    ctx = multiprocessing.get_context("spawn")
    args = (settings.store_url, str(settings.home), settings.gateway_url, bulk_id)
    bulk = ctx.Process(target=bulk_main, args=args)
    bulk.start()
    try:
        while _sent(store, bulk_id) < min(rate, customers / 10):
            if not bulk.is_alive():
                raise RuntimeError("the bulk job's process ended before it sent anything")
            time.sleep(0.1)
        log(f"bulk {bulk_id} sending; drafting the notice")
        notice = draft_notice(
            store,
            settings,
            title="전산 장애 안내",
            template_code=TEMPLATE,
            routes={"default": ["sms"]},
            sender_number=SENDER,
            actor=DRAFTER,
        )
        report = dry_run(store, settings, notice.id, DRAFTER)
        predicted = float(report["prediction"]["seconds"])
        log(f"dry run: {report['targets']:,} targets, predicted {predicted:.1f} s")
        job_id, approved_at = approve_notice(store, notice.id, APPROVER)
        sent = asyncio.run(send_notice(store, settings, notice.id, approved_at, actor=APPROVER))
        if sent.finished_at is None or sent.enqueued != report["targets"]:
            raise RuntimeError(f"the notice was not sent completely: {sent.as_json()}")
        start = first_accepted(settings.gateway_url, job_id)
        before = _sent(store, bulk_id, approved_at)
        during = _sent(store, bulk_id, sent.finished_at) - before
        running = bulk.is_alive() and _sent(store, bulk_id) < customers
    finally:
        _pause(store, bulk_id)
        bulk.join(15)
        if bulk.is_alive():
            bulk.terminate()
    run = UrgentRun(
        customers=customers,
        rate_per_s=rate,
        predicted_s=round(predicted, 3),
        start_s=round((start - approved_at).total_seconds(), 3),
        seconds=round((sent.finished_at - approved_at).total_seconds(), 3),
        bulk_sent_before=before,
        bulk_sent_during=during,
        bulk_running_after=running,
    )
    log(f"urgent: {json.dumps(run.as_json())}")
    return run


def bench_urgent(
    workdir: Path, customers: int, rate: float, runs: int, log: Callable[[str], None]
) -> dict[str, object]:
    """``runs`` measurements, each on a fresh SQLite store and simulator; the medians."""
    from ums_pipelines.bench.simproc import SimProcess

    done: list[UrgentRun] = []
    for n in range(runs):
        rundir = workdir / f"run{n}"
        with SimProcess(rundir / "sim") as sim:
            settings = Settings(
                home=rundir,
                database_url=f"sqlite:///{rundir / 'ums.db'}",
                gateway_url=sim.base_url,
            )
            for suffix in ("", "-wal", "-shm", "-gate"):
                Path(f"{rundir / 'ums.db'}{suffix}").unlink(missing_ok=True)
            store = Store(settings.store_url)
            try:
                store.migrate()
                seed(store, customers)
                done.append(run_urgent_under_bulk(store, settings, customers, rate, log))
            finally:
                store.dispose()
    return {
        "scenario": "urgent",
        "customers": customers,
        "rate_per_s": rate,
        "predicted_s": done[0].predicted_s,
        "median_seconds": statistics.median(r.seconds for r in done),
        "median_start_s": statistics.median(r.start_s for r in done),
        "median_ratio": round(statistics.median(r.ratio for r in done), 3),
        "runs": [r.as_json() for r in done],
    }


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="sim-sms limit, msg/s")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(".ums/bench/urgent"))
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    print(json.dumps(bench_urgent(args.workdir, args.customers, args.rate, args.runs, log)))


if __name__ == "__main__":
    _main()
