"""render_period_report: the HTML page with its SVG charts and the PDF with the same totals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pypdf
import pytest

from reports.demo_month import demo_jobs, write_demo_parquet
from reports.period_render import render_period_report
from ums_pipelines.analytics import run_all
from ums_pipelines.settings import Settings

GENERATED = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def demo(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home")
    write_demo_parquet(settings, date(2026, 3, 1), date(2026, 4, 1), 20)
    run_all(settings)
    return settings


def test_monthly_html_has_both_charts_and_the_totals(demo: Settings) -> None:
    jobs = demo_jobs(date(2026, 3, 1), date(2026, 4, 1))
    out = render_period_report(demo, "monthly", date(2026, 3, 1), jobs=jobs, generated_at=GENERATED)
    assert out.html == demo.reports_dir / "monthly" / "2026-03-01.html"
    html = out.html.read_text(encoding="utf-8")
    # The style sheet is closed before the body, or a browser shows an empty page.
    assert html.index("</style>") < html.index("</head>") < html.index("<body>")
    assert '<svg id="channel-chart"' in html and '<svg id="department-chart"' in html
    # Three bars (delivered, failed, fell back) per channel (4) and per department (5).
    assert html.count('<rect class="bar ') == 3 * (4 + 5)
    assert '<div class="value" id="total-requested">682</div>' in html  # 620 + 62 fallbacks
    for table in ("channel-table", "department-table", "purpose-table", "reason-table"):
        assert f'id="{table}"' in html
    assert "E-NOTFRIEND" in html and "2026-03" in html


def test_monthly_pdf_is_a_pdf_with_the_same_totals(demo: Settings) -> None:
    out = render_period_report(demo, "monthly", date(2026, 3, 1), generated_at=GENERATED)
    assert out.pdf.read_bytes().startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(out.pdf).pages)
    assert "682" in text and "E-NOTFRIEND" in text


def test_a_period_without_messages_says_so(demo: Settings) -> None:
    out = render_period_report(demo, "weekly", date(2026, 6, 1), generated_at=GENERATED)
    assert 'id="no-messages"' in out.html.read_text(encoding="utf-8")
    assert out.pdf.read_bytes().startswith(b"%PDF-")
