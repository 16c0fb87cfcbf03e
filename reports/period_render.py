"""Render a period report to ``reports_dir/<kind>/<start>.html`` and ``.pdf``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from reports.period import Line, PeriodReport, load_period_report
from reports.period_pdf import KIND_KO, period_pdf
from reports.render import SERIES, ChannelLine, Chart, _environment, build_chart
from ums_pipelines.settings import Settings

__all__ = ["RenderedReport", "render_period_report", "report_paths"]

KIND_EN = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}


@dataclass(frozen=True)
class RenderedReport:
    report: PeriodReport
    html: Path
    pdf: Path


def report_paths(reports_dir: Path, kind: str, start: date) -> tuple[Path, Path]:
    base = reports_dir / kind / start.isoformat()
    return base.with_suffix(".html"), base.with_suffix(".pdf")


def render_period_report(
    settings: Settings,
    kind: str,
    start: date,
    *,
    jobs: Mapping[str, tuple[str, str]] | None = None,
    generated_at: datetime | None = None,
) -> RenderedReport:
    """Load the numbers of the period and write its HTML page and PDF."""
    report = load_period_report(settings, kind, start, jobs=jobs, generated_at=generated_at)
    charts = [
        ("channel-chart", "채널별 결과 (Outcome per channel)", _chart(report.channels)),
        ("department-chart", "부서별 결과 (Outcome per department)", _chart(report.departments)),
    ]
    tables = [
        ("channel-table", "채널별 (Per channel)", report.channels),
        ("department-table", "부서별 (Per department)", report.departments),
        ("purpose-table", "목적별 (Per purpose)", report.purposes),
    ]
    env = _environment()
    env.filters["won"] = lambda n: f"{n:,.0f}"
    env.filters["signed_won"] = lambda n: "—" if n is None else f"{n:+,.0f}".replace("-", "−")
    html = env.get_template("period.html.j2").render(
        report=report,
        charts=charts,
        tables=tables,
        series=SERIES,
        kind_ko=KIND_KO[report.period.kind],
        kind_en=KIND_EN[report.period.kind],
    )
    html_path, pdf_path = report_paths(settings.reports_dir, report.period.kind, start)
    _write(html_path, html.encode("utf-8"))
    _write(pdf_path, period_pdf(report))
    return RenderedReport(report, html_path, pdf_path)


def _chart(lines: list[Line]) -> Chart:
    # The daily chart's drawing code, fed with the same three series.
    return build_chart(
        [
            ChannelLine(
                x.key, x.name, x.name, delivered=x.delivered, failed=x.failed, fell_back=x.fell_back
            )
            for x in lines
        ]
    )


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a mail job never attaches half a file
    finally:
        tmp.unlink(missing_ok=True)
