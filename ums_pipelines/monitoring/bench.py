"""How long a snapshot takes on a large store: ``python -m ums_pipelines.monitoring.bench
--rows 2000000 [--url URL]`` fills a fresh store with synthetic outbox rows (three days of
traffic, mostly delivered, a live backlog, failures with events) and times snapshots.

Not a test (tests never assert a wall-clock time); the figures go to docs/operations.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from ums_pipelines.jobs import (
    ChannelVariant,
    register_job,
    register_sender_number,
    register_template,
)
from ums_pipelines.lanes import Lane, Purpose
from ums_pipelines.monitoring.snapshot import take_snapshot
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store

__all__ = ["fill", "main"]

# Per 1,000 rows: 950 delivered, 30 failed (10 with a next leg), 10 queued, 3 claimed,
# 5 accepted, 2 expired; channels and providers in turn; lanes 1/3/4; three days back.
_COLUMNS = (
    "idempotency_key, job_id, customer_id, channel, message_type, provider, leg, chain,"
    " priority, recipient, body, state, error_code, next_leg_id, created_at, updated_at,"
    " submitted_at, send_round, attempts"
)
_STATE = (
    "CASE WHEN x % 1000 < 950 THEN 'delivered' WHEN x % 1000 < 980 THEN 'failed'"
    " WHEN x % 1000 < 990 THEN 'queued' WHEN x % 1000 < 993 THEN 'claimed'"
    " WHEN x % 1000 < 998 THEN 'accepted' ELSE 'expired' END"
)


def fill(store: Store, rows: int) -> None:
    with store.session() as s:
        register_sender_number(s, "15881234", "bench", actor="bench")
        variants = [ChannelVariant("sms", "x")]
        register_template(s, code="B", name="bench", purpose=Purpose.INFORMATIONAL,
                          variables=(), variants=variants, actor="bench")  # fmt: skip
        register_job(s, job_id="BENCH", name="bench", template_code="B",
                     routes={"sms": ["sms"]}, sender_number="15881234", department="d",
                     actor="bench", lane=Lane.INFORMATIONAL)  # fmt: skip
    pg = not store.sqlite
    age = (
        "now() - (x % 259200) * interval '1 second'"
        if pg
        else ("strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (x % 259200) || ' seconds')")
    )
    series = "generate_series(0, :n - 1) AS x" if pg else "s"
    with_ = (
        ""
        if pg
        else "WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < :n - 1) "
    )
    chain = "'[\"sms\"]'::json" if pg else "'[\"sms\"]'"
    channel = (
        "(ARRAY['sms','alimtalk','push','email'])[x % 4 + 1]"
        if pg
        else (
            "CASE x % 4 WHEN 0 THEN 'sms' WHEN 1 THEN 'alimtalk' WHEN 2 THEN 'push'"
            " ELSE 'email' END"
        )
    )
    # Built from the constants above only; the row count is a bound parameter.
    sql = (
        f"{with_}INSERT INTO messages ({_COLUMNS}) SELECT 'b.' || x, 'BENCH', 'C' || x,"  # noqa: S608
        f" {channel}, 'SMS', 'p' || (x % 5), 0, {chain}, 10 + (x % 3) * 10 + (x % 3 / 2) * 10,"
        f" '01000000000', 'b', st, CASE WHEN st = 'failed' THEN 'E-' || (x % 7) END,"
        f" CASE WHEN st = 'failed' AND k < 960 THEN x END, {age}, {age}, {age}, 0, 1"
        f" FROM (SELECT x, x % 1000 AS k, {_STATE} AS st FROM {series}) AS g"
    )
    with store.session() as s:
        s.execute(text(sql), {"n": rows})
        s.execute(text(
            "INSERT INTO delivery_events (message_id, stage, status, code, occurred_at,"
            " recorded_at) SELECT id, 'handset', 'failed', error_code, updated_at, updated_at"
            " FROM messages WHERE state = 'failed'"
        ))  # fmt: skip
        if pg:
            s.execute(text("ANALYZE messages"))
            s.execute(text("ANALYZE delivery_events"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--url", help="an empty database (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store(url)
        store.migrate()
        started = time.monotonic()
        fill(store, args.rows)
        print(
            f"filled {args.rows:,} rows in {time.monotonic() - started:.1f} s ({url.split(':')[0]})"
        )
        settings = Settings(home=Path(tmp), database_url=url)
        times = []
        for _ in range(args.repeat):
            snap = take_snapshot(store, settings)
            times.append(snap.duration_s)
        totals = snap.stage_totals()
        print(
            f"snapshot: median {statistics.median(times):.3f} s, max {max(times):.3f} s; {totals}"
        )
        store.dispose()


if __name__ == "__main__":
    main()
