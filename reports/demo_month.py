"""Synthetic report data written straight into the Parquet day files (no store round trip).

The store path (send → export) runs at thousands of messages a second; a month of a
bank's traffic (a million messages and more) would take hours that way. The report reads
only the Parquet copy, so the benchmark and the report tests write day files in the
export's own schema with Polars, vectorised. Outcomes follow the message id, so the counts
are exact and known: of every 20 first legs, 16 deliver, 2 fail (E-TIMEOUT, E-BLOCKED),
and 2 fall back (E-NOTFRIEND) to an SMS leg that delivers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from ums_pipelines.analytics.export import day_path
from ums_pipelines.analytics.schema import SOURCES
from ums_pipelines.settings import Settings

__all__ = ["DEPARTMENTS", "demo_jobs", "write_demo_parquet"]

DEPARTMENTS = ("retail", "card", "loan", "digital", "wealth")
PURPOSES = ("informational", "advertising", "auth")
JOBS_PER_DAY = 10
# First-leg channel and message type, unit price (KRW).
_CHANNELS = (
    ("alimtalk", "ALIMTALK", 7.5),
    ("push", "PUSH", 0.0),
    ("sms", "SMS", 9.0),
    ("email", "EMAIL", 0.5),
)
_FALLBACK_PRICE = 9.0


def demo_jobs(start: date, end: date) -> dict[str, tuple[str, str]]:
    """job_id -> (department, purpose) for every demo job of [start, end)."""
    jobs: dict[str, tuple[str, str]] = {}
    day, n = start, 0
    while day < end:
        for j in range(JOBS_PER_DAY):
            jobs[_job_id(day, j)] = (DEPARTMENTS[n % len(DEPARTMENTS)], PURPOSES[n % 3])
            n += 1
        day += timedelta(days=1)
    return jobs


def write_demo_parquet(settings: Settings, start: date, end: date, per_day: int) -> int:
    """Write ``per_day`` first legs (plus their fallback legs) per day of [start, end).

    Returns the number of message rows written.
    """
    if per_day < 1:
        raise ValueError(f"per_day: must be at least 1, got {per_day}")
    schema = next(s for s in SOURCES if s.name == "messages").polars_schema
    written, next_id, day = 0, 1, start
    while day < end:
        frame = _day_frame(day, per_day, next_id, settings).select(list(schema)).cast(dict(schema))  # type: ignore[arg-type]
        path = day_path(settings.parquet_dir, "messages", day)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path, compression="zstd", statistics=True)
        written += frame.height
        next_id += frame.height
        day += timedelta(days=1)
    return written


def _job_id(day: date, j: int) -> str:
    return f"demo-{day.isoformat()}-{j:02d}"


def _day_frame(day: date, n: int, first_id: int, settings: Settings) -> pl.DataFrame:
    midnight = datetime.combine(day, time.min, tzinfo=settings.tz).astimezone(UTC)
    jobs = pl.Series([_job_id(day, j) for j in range(JOBS_PER_DAY)])
    i = pl.int_range(0, n, eager=True)
    slot = i % 20
    ch = i % len(_CHANNELS)
    base = pl.DataFrame({"i": i, "slot": slot, "ch": ch}).with_columns(
        id=pl.col("i") + first_id,
        job_id=jobs.gather((i % JOBS_PER_DAY).to_list()),
        channel=pl.col("ch").replace_strict({k: c[0] for k, c in enumerate(_CHANNELS)}),
        message_type=pl.col("ch").replace_strict({k: c[1] for k, c in enumerate(_CHANNELS)}),
        price=pl.col("ch").replace_strict({k: c[2] for k, c in enumerate(_CHANNELS)}),
        # Spread over the day (seconds since Korea midnight), never past it.
        created_at=pl.lit(midnight) + pl.duration(seconds=(pl.col("i") * 86_000) // n),
    )
    state = pl.when(pl.col("slot") < 16).then(pl.lit("delivered")).otherwise(pl.lit("failed"))
    code = (
        pl.when(pl.col("slot") < 16)
        .then(pl.lit(None, pl.String()))
        .when(pl.col("slot") == 16)
        .then(pl.lit("E-TIMEOUT"))
        .when(pl.col("slot") == 17)
        .then(pl.lit("E-BLOCKED"))
        .otherwise(pl.lit("E-NOTFRIEND"))
    )
    falls = pl.col("slot") >= 18
    firsts = base.with_columns(
        state=state,
        error_code=code,
        leg=pl.lit(0),
        parent_id=pl.lit(None, pl.Int64()),
        unit_price=pl.when(pl.col("slot") < 16).then(pl.col("price")),
    )
    fb = firsts.filter(falls)
    child_ids = pl.int_range(0, fb.height, eager=True) + first_id + n
    firsts = firsts.with_columns(next_leg_id=pl.lit(None, pl.Int64()))
    firsts = firsts.update(fb.select("id").with_columns(next_leg_id=child_ids), on="id", how="left")
    children = fb.with_columns(
        parent_id=pl.col("id"),
        id=child_ids,
        channel=pl.lit("sms"),
        message_type=pl.lit("SMS"),
        leg=pl.lit(1),
        state=pl.lit("delivered"),
        error_code=pl.lit(None, pl.String()),
        unit_price=pl.lit(_FALLBACK_PRICE),
        next_leg_id=pl.lit(None, pl.Int64()),
        created_at=pl.col("created_at") + pl.duration(seconds=30),
    )
    cols = [
        "id",
        "job_id",
        "channel",
        "message_type",
        "leg",
        "parent_id",
        "next_leg_id",
        "state",
        "error_code",
        "unit_price",
        "created_at",
    ]
    out = pl.concat([firsts.select(cols), children.select(cols)])
    return out.with_columns(
        idempotency_key=pl.format("demo-{}", pl.col("id")),
        customer_id=pl.format("C{}", pl.col("id") % 50_000),
        provider=pl.col("channel") + "-sim",
        priority=pl.lit(3),
        attempts=pl.lit(1),
        submitted_at=pl.col("created_at") + pl.duration(seconds=1),
        completed_at=pl.col("created_at") + pl.duration(seconds=5),
        updated_at=pl.col("created_at") + pl.duration(seconds=5),
    )
