"""Benchmark: a month of demo traffic (>= 1,000,000 messages) into Parquet, then the monthly
report as HTML and PDF.

    .venv/bin/python -m reports.bench_monthly --home /tmp/ums-bench --per-day 33000

Seeds the month and the month before (for the comparison column) with
``reports.demo_month`` (Polars, straight into the export's day files), builds the DuckDB
models, renders the report, and prints the timings and sizes as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

from reports.demo_month import demo_jobs, write_demo_parquet
from reports.period import period_of
from reports.period_render import render_period_report
from ums_pipelines.analytics import run_all
from ums_pipelines.settings import Settings

__all__ = ["main"]


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--home", type=Path, required=True, help="empty UMS_HOME for the run")
    parser.add_argument("--month", type=date.fromisoformat, default=date(2026, 3, 1))
    parser.add_argument("--per-day", type=int, default=33_000, help="first legs a day")
    args = parser.parse_args(argv)
    settings = Settings(home=args.home)
    month = period_of("monthly", args.month)
    before = month.previous

    t0 = time.monotonic()
    rows = write_demo_parquet(settings, before.start, month.end, args.per_day)
    t1 = time.monotonic()
    run_all(settings)
    t2 = time.monotonic()
    out = render_period_report(
        settings, "monthly", month.start, jobs=demo_jobs(before.start, month.end)
    )
    t3 = time.monotonic()
    result: dict[str, object] = {
        "month": month.label,
        "month_messages": out.report.total.requested,
        "parquet_rows_both_months": rows,
        "parquet_bytes": _size(settings.parquet_dir),
        "duckdb_bytes": settings.analytics_path.stat().st_size,
        "seed_seconds": round(t1 - t0, 2),
        "models_seconds": round(t2 - t1, 2),
        "report_seconds": round(t3 - t2, 2),
        "html": str(out.html),
        "html_bytes": out.html.stat().st_size,
        "pdf": str(out.pdf),
        "pdf_bytes": out.pdf.stat().st_size,
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
